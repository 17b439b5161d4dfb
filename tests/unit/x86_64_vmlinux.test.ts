/**
 * The x86_64 ELF vmlinux, linked here by GNU ld like a kernel: every PT_LOAD
 * at its physical address, entry e_entry, a made-up setup header in
 * boot_params; crash kernels moved by 2 MiB multiples into the crash region;
 * kexec_file_load never asked; truncated and foreign ELF files refused.
 */

import assert from "node:assert/strict";
import { PATHS } from "../../lib/abi.ts";
import { runCli } from "../../lib/cli/run.ts";
import { readElfExecutable } from "../../lib/elf/exec.ts";
import { KexecError } from "../../lib/errors.ts";
import { checkVmlinux, VMLINUX, vmlinuxKernel } from "../../lib/arch/x86_64/vmlinux.ts";
import { tinyVmlinux } from "../support/image_samples.ts";
import { KERNEL, machine } from "../support/machine.ts";
import { CRASH_REGION, crashMachine } from "../support/crash_machine.ts";

const vmlinux = await tinyVmlinux();
const elf = readElfExecutable(vmlinux, "vmlinux");

Deno.test("ld's vmlinux: PT_LOADs at 0x1000000 and 0x1200000, probed as ELF vmlinux only", () => {
  assert.ok(VMLINUX.probe(vmlinux));
  assert.equal(elf.entry, 0x1000000n);
  assert.deepEqual(elf.loads.map((l) => l.paddr), [0x1000000, 0x1200000]);
  const pie = vmlinux.slice();
  pie[0x10] = 3; // ET_DYN: a program, not a kernel
  assert.equal(VMLINUX.probe(pie), false);
  const check = checkVmlinux({
    bytes: vmlinux,
    path: "vmlinux",
    cmdlineLength: 2047,
    wideUserAddresses: false,
    pageSize: 4096,
  });
  assert.equal(check.fitsSegmentLoad, true);
  assert.equal(check.segmentLoadMax, 2047);
  const wide = checkVmlinux({
    bytes: vmlinux,
    path: "vmlinux",
    cmdlineLength: 1,
    wideUserAddresses: true,
    pageSize: 4096,
  });
  assert.match(wide.notes[0], /5-level paging is on: .*CONFIG_X86_5LEVEL/);
});

Deno.test("-c: each PT_LOAD is a segment at p_paddr, the purgatory enters e_entry with a made-up header", async () => {
  const sys = machine({ [KERNEL]: vmlinux });
  const code = await runCli(["-c", "--dry-run", "--json", KERNEL, "--append=console=ttyS0"], sys);
  assert.equal(code, 0, sys.stderr);
  const plan = JSON.parse(sys.stdout).plans[0];
  const kernel = plan.segments.filter((s: { name: string }) => s.name.startsWith("kernel"));
  assert.deepEqual(kernel.map((s: { mem: string }) => Number(s.mem)), [0x1000000, 0x1200000]);
  assert.match(
    plan.notes.join("\n"),
    /kernel: 0x1000000-.*the linked physical addresses; entry 0x1000000/,
  );
  assert.match(plan.notes.join("\n"), /setup header made up \(protocol 2\.15, cmdline_size 2047\)/);

  const image = vmlinuxKernel(vmlinux, "vmlinux", false);
  const h = new DataView(image.headerBytes.buffer);
  assert.equal(h.getUint32(0x202, true), 0x53726448, "HdrS");
  assert.equal(h.getUint16(0x206, true), 0x020f);
  assert.equal(h.getUint32(0x238, true), 2047);
  assert.equal(image.headerBytes.length, 0x26c);
});

Deno.test("auto mode goes straight to kexec_load, -s is refused with exit 253; nothing is lost", async () => {
  const auto = machine({ [KERNEL]: vmlinux });
  assert.equal(await runCli(["-d", "-l", KERNEL], auto), 0, auto.stderr);
  assert.equal(auto.callsOf("kexec_file_load").length, 0);
  assert.equal(auto.callsOf("kexec_load").length, 1);
  assert.match(
    auto.stderr,
    /kexec_file_load would refuse kernel .*ELF vmlinux.*: using kexec_load/,
  );
  const file = machine({ [KERNEL]: vmlinux, [PATHS.kexecLoaded]: "1\n" });
  assert.equal(await runCli(["-s", "-l", KERNEL], file), 253);
  assert.equal(file.calls.filter((c) => c.op.startsWith("kexec")).length, 0);
  assert.equal(file.readText(PATHS.kexecLoaded), "1\n");
});

Deno.test("-p: the vmlinux moves into the crash region by a multiple of 2 MiB", async () => {
  const sys = crashMachine({ [KERNEL]: vmlinux });
  const code = await runCli(["-p", "-c", "--dry-run", "--json", KERNEL, "--args-linux"], sys);
  assert.equal(code, 0, sys.stderr);
  const plan = JSON.parse(sys.stdout).plans[0];
  const kernel = plan.segments.filter((s: { name: string }) => s.name.startsWith("kernel"));
  const base = Number(kernel[0].mem);
  assert.equal(base % 0x200000, 0);
  assert.equal(Number(kernel[1].mem) - base, 0x200000, "the PT_LOADs keep their distance");
  assert.ok(base >= CRASH_REGION.start && base < CRASH_REGION.end, `0x${base.toString(16)}`);
  assert.match(plan.notes.join("\n"), /moved by 0x[0-9a-f]+ from p_paddr 0x1000000/);
  assert.doesNotMatch(sys.stderr, /args-linux/, "--args-linux is accepted silently");
});

Deno.test("truncated, misaligned and foreign ELF files are refused before any syscall", async () => {
  const refuse = async (bytes: Uint8Array, re: RegExp) => {
    const sys = machine({ [KERNEL]: bytes });
    assert.equal(await runCli(["-c", "-l", KERNEL], sys), 255, sys.stderr);
    assert.match(sys.stderr, re);
    assert.equal(sys.callsOf("kexec_load").length, 0);
  };
  await refuse(
    vmlinux.subarray(0, 0x2000),
    /PT_LOAD 0 .* runs past the end of the file .*truncated/,
  );
  await refuse(vmlinux.subarray(0, 100), /program headers .* run past the end/);
  const misaligned = vmlinux.slice();
  const v = new DataView(misaligned.buffer);
  const phoff = Number(v.getBigUint64(0x20, true));
  v.setBigUint64(phoff + 0x18, 0x1000010n, true);
  await refuse(misaligned, /p_paddr 0x1000010 is not page-aligned/);
  const far = vmlinux.slice();
  new DataView(far.buffer).setBigUint64(0x18, 0x9000000n, true);
  await refuse(far, /e_entry 0x9000000 lies outside its PT_LOADs/);
  const arm = vmlinux.slice();
  arm[0x12] = 183;
  await refuse(arm, /an ELF file for aarch64/);
  assert.ok(
    (() => {
      try {
        readElfExecutable(new Uint8Array(64), "x");
      } catch (e) {
        return e instanceof KexecError;
      }
    })(),
  );
});
