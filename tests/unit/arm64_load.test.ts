/**
 * arm64 loads through the command line and the injected syscall layer: what
 * reaches kexec_file_load (syscall 294) and kexec_load (flags with
 * KEXEC_ARCH_AARCH64, the segment table), the automatic fallback on ENOSYS
 * (Debian's arm64 kernels have no KEXEC_FILE), `-s` failing with 253, a
 * gzip'd Image unwrapped for both syscalls, and `--dtb`.
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { ARM64_ABI } from "../../lib/arch/arm64/abi.ts";
import { runCli } from "../../lib/cli/run.ts";
import { findNode, getProperty, parseFdt, readString } from "../../lib/fdt/fdt.ts";
import { KEXEC_SEGMENT_FIELDS } from "../../lib/plan/segment_table.ts";
import { loadKernel } from "../../lib/load.ts";
import type { SegmentLoadPlan } from "../../lib/plan/types.ts";
import { silentReporter } from "../../lib/report.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { dtc, dts } from "../fixtures/fdt.ts";
import { machine } from "../support/machine.ts";
import {
  arm64Image,
  arm64Zboot,
  IMAGE,
  INITRD,
  virtFdt,
  virtMachine,
} from "../support/arm64_machine.ts";

const APPEND = 'console=ttyAMA0 panic=-1 e2e.arg="a b"';
const withNul = (s: string) => new Uint8Array([...new TextEncoder().encode(s), 0]);

/** The rows of a recorded kexec_load segment table: [bufsz, mem, memsz]. */
function rows(table: BigUint64Array, nr: number): [number, number, number][] {
  const F = KEXEC_SEGMENT_FIELDS;
  return Array.from({ length: nr }, (_, i) => {
    const at = i * F.count;
    return [Number(table[at + F.bufsz]), Number(table[at + F.mem]), Number(table[at + F.memsz])];
  });
}

Deno.test("auto on a kernel without KEXEC_FILE: kexec_file_load ENOSYS, then kexec_load for arm64", async () => {
  const sys = virtMachine("direct", {}, { fileLoadErrnos: [Errno.ENOSYS] });
  const code = await runCli(["-l", IMAGE, `--initrd=${INITRD}`, `--append=${APPEND}`], sys);
  assert.equal(code, 0, sys.stderr);
  const [file] = sys.callsOf("kexec_file_load");
  assert.deepEqual(file.cmdline, withNul(APPEND));
  const [load] = sys.callsOf("kexec_load");
  assert.equal(load.flags, ARM64_ABI.kexecArch);
  assert.equal(load.nr, 4);
  const table = rows(load.table, load.nr);
  // kernel (its bytes, image_size reserved), initrd, dtb, purgatory; entry = the purgatory page.
  assert.deepEqual(table[0], [0x10000, 0x42000000, 0x2010000]);
  assert.equal(Number(load.entry), table[3][1]);
  assert.deepEqual([table[3][0], table[3][2]], [4096, 4096]);
  assert.match(sys.stderr, /loaded kernel \/boot\/Image with kexec_load/);
});

Deno.test("-s on a kernel without KEXEC_FILE: exit 253 naming ENOSYS, and no kexec_load", async () => {
  const sys = virtMachine("direct", {}, { fileLoadErrnos: [Errno.ENOSYS] });
  const code = await runCli(["-s", "-l", IMAGE, `--initrd=${INITRD}`, `--append=${APPEND}`], sys);
  assert.equal(code, 253);
  assert.match(sys.stderr, /ENOSYS/);
  assert.equal(sys.callsOf("kexec_load").length, 0);
});

Deno.test("-s where the kernel has it: kexec_file_load gets the Image file itself", async () => {
  const sys = virtMachine("direct");
  const code = await runCli(["-s", "-l", IMAGE, `--initrd=${INITRD}`, `--append=${APPEND}`], sys);
  assert.equal(code, 0, sys.stderr);
  const [file] = sys.callsOf("kexec_file_load");
  assert.equal(file.flags, 0);
  assert.equal(file.kernelFd, 3, "the first file opened: the Image, not a memfd copy");
  assert.ok(!sys.calls.some((c) => c.op === "memfd"));
  assert.equal(sys.fds.size, 0);
  assert.match(sys.stderr, /with kexec_file_load/);
});

Deno.test("-p -c: a crash load with KEXEC_ON_CRASH | KEXEC_ARCH_AARCH64, inside the region", async () => {
  const sys = virtMachine("direct");
  const code = await runCli(["-c", "-p", IMAGE, `--initrd=${INITRD}`, `--append=${APPEND}`], sys);
  assert.equal(code, 0, sys.stderr);
  const [load] = sys.callsOf("kexec_load");
  assert.equal(load.flags, ARM64_ABI.kexecArch | 1);
  for (const [, mem, memsz] of rows(load.table, load.nr)) {
    assert.ok(mem >= 0xa9a00000 && mem + memsz <= 0xb9a00000);
  }
  assert.equal(sys.readText("/sys/kernel/kexec_crash_loaded"), "1\n");
});

Deno.test("a gzip'd Image (Image.gz, Ubuntu's vmlinuz) is unwrapped for both syscalls", async () => {
  const image = arm64Image({ length: 0x30000 });
  const gz = new Uint8Array(gzipSync(image));
  // kexec_file_load gets a memfd of the inflated Image.
  const file = virtMachine("direct", { "/boot/Image.gz": gz });
  assert.equal(await runCli(["-s", "-l", "/boot/Image.gz", "--append=x"], file), 0, file.stderr);
  const memfd = file.calls.find((c) => c.op === "memfd");
  assert.ok(memfd && memfd.op === "memfd" && memfd.size === image.length);
  // kexec_load's kernel segment has the inflated bytes.
  const load = virtMachine("direct", { "/boot/Image.gz": gz });
  assert.equal(await runCli(["-c", "-l", "/boot/Image.gz", "--append=x"], load), 0, load.stderr);
  const [call] = load.callsOf("kexec_load");
  assert.deepEqual(rows(call.table, call.nr)[0], [0x30000, 0x42000000, 0x2010000]);
});

Deno.test("an EFI zboot vmlinuz.efi (gzip or zstd inside) is unwrapped to its Image", async () => {
  const image = arm64Image({ length: 0x30000 });
  for (const codec of ["gzip", "zstd"] as const) {
    const sys = virtMachine("uefi", { "/boot/vmlinuz.efi": arm64Zboot(image, codec) });
    assert.equal(await runCli(["-c", "-l", "/boot/vmlinuz.efi", "--append=x"], sys), 0, sys.stderr);
    const [call] = sys.callsOf("kexec_load");
    assert.equal(call.flags, ARM64_ABI.kexecArch);
    assert.equal(rows(call.table, call.nr)[0][0], image.length, `${codec}: the inflated Image`);
  }
});

Deno.test("--dtb: auto goes straight to kexec_load with that tree; -s --dtb is a usage error", async () => {
  const sys = virtMachine("uefi", { "/boot/my.dtb": virtFdt("direct") });
  const code = await runCli(["-l", IMAGE, "--dtb=/boot/my.dtb", `--append=${APPEND}`], sys);
  assert.equal(code, 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load").length, 0, "kexec_file_load cannot take a DTB");
  assert.equal(sys.callsOf("kexec_load").length, 1);

  const dry = virtMachine("uefi", { "/boot/my.dtb": virtFdt("direct") });
  assert.equal(
    await runCli(["-l", IMAGE, "--dtb=/boot/my.dtb", "--append=x", "--dry-run", "--json"], dry),
    0,
  );
  const plan = JSON.parse(dry.stdout).plans[0];
  assert.equal(plan.syscall, "kexec_load");
  assert.ok(plan.notes.some((n: string) => n.startsWith("device tree from /boot/my.dtb")));

  const fileOnly = virtMachine("uefi", { "/boot/my.dtb": virtFdt("direct") });
  assert.equal(await runCli(["-s", "-l", IMAGE, "--dtb=/boot/my.dtb"], fileOnly), 1);
  assert.match(fileOnly.stderr, /--dtb works with kexec_load only/);
  assert.deepEqual(fileOnly.calls.filter((c) => c.op.startsWith("kexec")), []);

  const missing = virtMachine("uefi");
  assert.equal(await runCli(["-l", IMAGE, "--dtb=/nope.dtb"], missing), 255);
  assert.match(missing.stderr, /\/nope.dtb/);
  assert.deepEqual(missing.calls.filter((c) => c.op.startsWith("kexec")), []);
});

Deno.test("--dtb with a device tree edited by dtc: the next kernel gets that tree, /chosen rewritten", async () => {
  const source = (await dts(virtFdt("direct"))).replace(
    'model = "linux,dummy-virt";',
    'model = "edited by dtc";',
  );
  const edited = await dtc(source);
  const sys = virtMachine("direct", { "/boot/my.dtb": edited });
  const result = await loadKernel(sys, {
    kernel: IMAGE,
    initrds: [INITRD],
    cmdline: APPEND,
    crash: false,
    syscall: "auto",
    dtb: "/boot/my.dtb",
  }, silentReporter);
  assert.equal(result.used, "kexec_load");
  const plan = result.plans[0] as SegmentLoadPlan;
  const fdt = parseFdt(plan.segments.find((s) => s.name === "dtb")!.buf);
  assert.equal(readString(getProperty(fdt.root, "model")!), "edited by dtc");
  assert.equal(readString(getProperty(findNode(fdt, "/chosen")!, "bootargs")!), APPEND);
  assert.ok(getProperty(findNode(fdt, "/chosen")!, "linux,initrd-start"));
});

Deno.test("--dtb on x86_64 loads with a warning that it has no effect there (kexec-tools ignores it too)", async () => {
  const sys = machine({ "/boot/my.dtb": virtFdt("uefi") });
  assert.equal(await runCli(["-l", "/boot/vmlinuz", "--dtb=/boot/my.dtb"], sys), 0, sys.stderr);
  assert.match(sys.stderr, /option --dtb has no effect on x86_64/);
  assert.equal(sys.calls.filter((c) => c.op.startsWith("kexec")).length, 1);
});
