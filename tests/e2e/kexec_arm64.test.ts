/**
 * End-to-end arm64 (issue 12) in `qemu-system-aarch64 -M virt -cpu max`
 * guests, TCG: Debian's arm64 kernel (no KEXEC_FILE, so kexec_load with our
 * device tree and purgatory is the only way) and the arm64 test kernel built
 * with KEXEC_FILE (scripts/build-test-kernel.ts). One guest boot per
 * Deno.test; the checks are its steps. Scripts: tests/e2e/cases/arm64-boot.sh
 * and kdump.sh.
 *
 * - a raw Image with `--dtb` (QEMU's own tree, its model edited with dtc):
 *   -l then -e, straight to kexec_load;
 * - a gzip'd Image under UEFI (ACPI, a device tree without memory nodes) in
 *   automatic mode: kexec_file_load answers ENOSYS, kexec_load follows; `-s`
 *   alone exits 253;
 * - -p then sysrq-c: the crash kernel boots, /proc/vmcore is the RAM outside
 *   the crash region and Debian's arm64 makedumpfile reads all of it;
 * - the test kernel: -s -l of its Image.gz (a memfd) then -e, and -s -p then
 *   sysrq-c.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { findTestKernel } from "../../scripts/build-test-kernel.ts";
import { defaultCacheDir } from "../../scripts/fetch-test-assets.ts";
import { GUEST_ARCH } from "./harness/arch.ts";
import { checker, expectRc, stepInfo, value } from "./harness/checks.ts";
import { type GuestRun, runGuestCase } from "./harness/guest.ts";
import { prepareGuest } from "./harness/prepare.ts";

/**
 * Guest time measured on the shared 2-core development machine (load ≈ 6-9):
 * see the README's arm64 section. Every case ends within the harness's
 * 120 s bound on a quiet machine with room; the bound is what it is.
 */
const TIMEOUT_MS = 120_000;
const APPEND = 'console=ttyAMA0 panic=-1 e2e.arg="a b" x=1';
const CRASH_APPEND = "console=ttyAMA0 panic=-1 nr_cpus=1 reset_devices e2e.kdump=1";
const EM_AARCH64 = 183;
const ET_CORE = 4;
/**
 * The test kernel is built with 52-bit VAs (Linux 6.12's default for 4K
 * pages), and 6.12's arch/arm64/mm/trans_pgd.c copy_p4d() walks an
 * unallocated p4d table when the CPU has LPA2 and five levels are in use: a
 * normal kexec, by either syscall, oopses in machine_kexec_post_load (crash
 * loads build no copy and work). Without LPA2 the kernel runs with 48-bit
 * VAs, as Debian's arm64 kernels do.
 */
const NO_LPA2 = ["-cpu", "max,pauth-impdef=on,lpa2=off"];
/** The dump may differ from the RAM outside the crash region by this fraction. */
const VMCORE_TOLERANCE = 0.05;

async function tmpDir(prefix: string): Promise<string> {
  await Deno.mkdir(`${defaultCacheDir()}/tmp`, { recursive: true });
  return await Deno.makeTempDir({ dir: `${defaultCacheDir()}/tmp`, prefix });
}

async function run(cmd: string, args: string[], stdin?: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/**
 * QEMU's own device tree for the guests' machine (the harness's machine,
 * memory, CPUs and PCI UART), its `model` changed with dtc to `model`.
 */
async function editedVirtDtb(dir: string, model: string): Promise<string> {
  const arch = GUEST_ARCH.aarch64;
  const raw = `${dir}/virt.dtb`;
  await run("qemu-system-aarch64", [
    ...arch.machineArgs,
    "-machine",
    `dumpdtb=${raw}`,
    "-m",
    "2048",
    "-smp",
    "2",
    "-nodefaults",
    "-nographic",
    ...arch.serialArgs("/dev/null", "/dev/null"),
  ]);
  const source = new TextDecoder().decode(await run("dtc", ["-q", "-I", "dtb", "-O", "dts", raw]));
  assert.match(source, /model = "linux,dummy-virt";/);
  const edited = source.replace('model = "linux,dummy-virt";', `model = "${model}";`);
  const out = `${dir}/edited.dtb`;
  await Deno.writeFile(
    out,
    await run("dtc", ["-q", "-I", "dts", "-O", "dtb", "-"], new TextEncoder().encode(edited)),
  );
  return out;
}

function expectSecondStage(run: GuestRun, cmdline: string): void {
  assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
  const stage2 = run.report.stage2;
  assert.ok(stage2, "the second kernel's initrd never reported (it did not boot)");
  assert.equal(stage2.token, run.stage2Token, "second stage token (is it our initrd?)");
  assert.equal(stage2.cmdline, cmdline, "second kernel's /proc/cmdline, byte for byte");
  assert.equal(stage2.ended, true);
}

/** The console after the first kernel handed over (the second kernel's messages). */
function afterHandover(run: GuestRun): string {
  const at = run.qemu.console.search(/kexec_core: Starting new kernel|Starting crashdump kernel/);
  assert.ok(at >= 0, "the first kernel never handed over");
  return run.qemu.console.slice(at);
}

Deno.test("e2e aarch64: -l a raw Image with --dtb (QEMU's tree, model edited by dtc), then -e", async (t) => {
  const dir = await tmpDir("arm64-dtb-");
  const model = `e2e-dtb-${crypto.randomUUID().slice(0, 8)}`;
  let result: GuestRun;
  try {
    const dtb = await editedVirtDtb(dir, model);
    result = await runGuestCase({
      name: "arm64-dtb",
      script: "arm64-boot.sh",
      arch: "aarch64",
      timeoutMs: TIMEOUT_MS,
      params: { LOAD_FLAGS: "-d --dtb=/e2e/edited.dtb", KEXEC_APPEND: APPEND },
      files: [{ host: dtb, guest: "/e2e/edited.dtb" }],
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const check = checker(t, result);
  await check("--dtb goes straight to kexec_load: the plan starts from the given tree", (run) => {
    const load = expectRc(run, "load", 0);
    const err = load.err.join("\n");
    assert.doesNotMatch(err, /kexec_file_load\(/, "no kexec_file_load attempt with --dtb");
    assert.match(err, /--dtb: using kexec_load/, stepInfo(load));
    assert.match(err, /device tree from \/e2e\/edited.dtb: 0x[0-9a-f]+ \(2 MiB aligned/);
    assert.match(err, /kexec_load\(entry=0x[0-9a-f]+, nr_segments=4, flags=0xb70000\)/);
    assert.equal(value(run, "loaded_after"), "1");
  });
  await check(
    "the second kernel boots on that tree with the exact command line and our initrd",
    (run) => {
      expectSecondStage(run, APPEND);
      assert.match(afterHandover(run), new RegExp(`Machine model: ${model}`));
    },
  );
});

Deno.test("e2e aarch64 UEFI: auto -l of a gzip'd Image falls back to kexec_load on ENOSYS, then -e", async (t) => {
  const { kernel } = await prepareGuest("aarch64", "debian", true);
  const dir = await tmpDir("arm64-gz-");
  let result: GuestRun;
  try {
    const gz = `${dir}/Image.gz`;
    await Deno.writeFile(gz, gzipSync(await Deno.readFile(kernel.path), { level: 6 }));
    result = await runGuestCase({
      name: "arm64-gzip-uefi",
      script: "arm64-boot.sh",
      arch: "aarch64",
      firmware: "uefi",
      timeoutMs: TIMEOUT_MS,
      params: {
        BOOT_KERNEL: "/e2e/Image.gz",
        LOAD_FLAGS: "-d",
        KEXEC_APPEND: APPEND,
      },
      files: [{ host: gz, guest: "/e2e/Image.gz" }],
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const check = checker(t, result);
  await check("auto: the gzip layer unwrapped, kexec_file_load ENOSYS, then kexec_load", (run) => {
    const load = expectRc(run, "load", 0);
    const err = load.err.join("\n");
    assert.match(err, /gzip/, stepInfo(load));
    assert.match(err, /kexec_file_load: ENOSYS[^\n]*\n[^\n]*falling back to kexec_load/);
    assert.match(err, /kexec_load: ok/);
    assert.equal(value(run, "loaded_after"), "1");
  });
  await check(
    "the second kernel boots through UEFI's tables with the exact command line",
    (run) => {
      expectSecondStage(run, APPEND);
      const next = afterHandover(run);
      assert.match(next, /efi: EFI v[\d.]+ by/, "the next kernel found UEFI");
      assert.match(next, /ACPI: /, "and ACPI");
    },
  );
});

/** `start-end : name` lines of /proc/iomem as [start, end) pairs. */
function iomemRanges(run: GuestRun, name: string): { start: number; end: number }[] {
  return (run.report.values.get(name) ?? []).map((line) => {
    const m = /^\s*([0-9a-f]+)-([0-9a-f]+) : /.exec(line);
    assert.ok(m, `iomem line '${line}'`);
    return { start: parseInt(m[1], 16), end: parseInt(m[2], 16) + 1 };
  });
}

function crashChecks(check: ReturnType<typeof checker>, syscall: RegExp) {
  return (async () => {
    await check(
      "-p loads; sysrq-c boots the crash kernel with the exact command line and our initrd",
      (run) => {
        const load = expectRc(run, "crash_reload", 0);
        assert.match(load.err.join("\n"), syscall, stepInfo(load));
        assert.equal(value(run, "crash_loaded"), "1");
        assert.equal(value(run, "survived_crash"), undefined, "the first kernel survived sysrq-c");
        assert.match(afterHandover(run), /Starting crashdump kernel/);
        expectSecondStage(run, CRASH_APPEND);
      },
    );
    await check(
      "/proc/vmcore: an arm64 ELF core within 5% of the RAM outside the crash region",
      (run) => {
        const vmcore = run.report.stage2?.vmcore;
        assert.ok(vmcore, "no /proc/vmcore in the crash kernel");
        const v = new DataView(vmcore.head.buffer, vmcore.head.byteOffset, vmcore.head.byteLength);
        assert.deepEqual([...vmcore.head.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
        assert.equal(v.getUint16(0x10, true), ET_CORE);
        assert.equal(v.getUint16(0x12, true), EM_AARCH64);
        const ram = iomemRanges(run, "iomem_ram").reduce((n, r) => n + r.end - r.start, 0);
        const crash = iomemRanges(run, "iomem_crash").reduce((n, r) => n + r.end - r.start, 0);
        const outside = ram - crash;
        const off = Math.abs(vmcore.size - outside) / outside;
        assert.ok(
          off <= VMCORE_TOLERANCE,
          `vmcore ${vmcore.size} vs ${outside} bytes: ${(off * 100).toFixed(2)}%`,
        );
        assert.equal(vmcore.osrelease, run.report.stage1?.kernel, "VMCOREINFO OSRELEASE");
      },
    );
  })();
}

Deno.test("e2e aarch64 kdump: -s -p exits 253 (no KEXEC_FILE); auto -p (kexec_load, our core header) boots on sysrq-c; makedumpfile reads the dump", async (t) => {
  const result = await runGuestCase({
    name: "arm64-kdump",
    script: "kdump.sh",
    arch: "aarch64",
    kernelArgs: ["crashkernel=256M"],
    makedumpfile: true,
    timeoutMs: TIMEOUT_MS,
    params: { LOAD_FLAGS: "-d", CRASH_APPEND, FILE_ONLY_STEP: "yes" },
  });
  const check = checker(t, result);
  await check("-s -p: exit 253 naming ENOSYS, nothing loaded", (run) => {
    const s = expectRc(run, "file_only", 253);
    assert.match(s.err.join("\n"), /kexec_file_load failed: ENOSYS/, stepInfo(s));
    assert.equal(value(run, "crash_loaded_after_file_only"), "0");
  });
  await crashChecks(
    check,
    /ENOSYS[\s\S]*kexec_load\(entry=0x[0-9a-f]+, nr_segments=5, flags=0xb70001\)/,
  );
  await check("the core header was built from /proc/kcore's linear map and kernel image", (run) => {
    const err = run.report.steps.get("crash_reload")!.err.join("\n");
    assert.match(err, /linear map: physical 0 at 0xfffeffffc0000000 \(p_vaddr − p_paddr/);
    assert.match(err, /linear map: agrees with VMCOREINFO VA_BITS 48, PHYS_OFFSET 0x40000000/);
    assert.match(
      err,
      /kernel image: 0xffff[0-9a-f]+ ↔ physical 0x[0-9a-f]+, 0x[0-9a-f]+ bytes \(the \/proc\/kcore PT_LOAD/,
    );
  });
  await check("Debian's arm64 makedumpfile -F -l -d 31 reads the whole dump and exits 0", (run) => {
    const md = run.report.stage2?.vmcore?.makedumpfile;
    assert.ok(md, "makedumpfile did not run in the crash kernel");
    assert.equal(md.rc, 0, md.err.join("\n"));
    assert.ok(md.err.some((l) => l.includes("makedumpfile Completed")), md.err.join("\n"));
  });
});

Deno.test("e2e aarch64 test kernel (KEXEC_FILE): -s -l of its Image.gz (a memfd), then -e", async (t) => {
  const gz = (await findTestKernel("aarch64")).files["Image.gz"];
  assert.ok(gz, "the arm64 test kernel has no Image.gz");
  const result = await runGuestCase({
    name: "arm64-file-load",
    script: "arm64-boot.sh",
    arch: "aarch64",
    kernel: "test",
    timeoutMs: TIMEOUT_MS,
    params: { BOOT_KERNEL: "/e2e/Image.gz", LOAD_FLAGS: "-s -d", KEXEC_APPEND: APPEND },
    files: [{ host: gz, guest: "/e2e/Image.gz" }],
    qemuArgs: NO_LPA2,
  });
  const check = checker(t, result);
  await check("-s: kexec_file_load (syscall 294) takes the unwrapped Image", (run) => {
    const load = expectRc(run, "load", 0);
    const err = load.err.join("\n");
    assert.match(err, /gzip/, stepInfo(load));
    assert.match(err, /kexec_file_load\(kernel_fd=\d+, initrd_fd=\d+, cmdline_len=\d+/);
    assert.match(err, /loaded kernel \/e2e\/Image.gz with kexec_file_load/);
    assert.doesNotMatch(err, /kexec_load\(/);
  });
  await check("the second kernel boots with the exact command line and our initrd", (run) => {
    expectSecondStage(run, APPEND);
  });
});

Deno.test("e2e aarch64 test kernel (KEXEC_FILE): -s -p boots on sysrq-c with the kernel's own core header", async (t) => {
  const result = await runGuestCase({
    name: "arm64-file-kdump",
    script: "kdump.sh",
    arch: "aarch64",
    kernel: "test",
    kernelArgs: ["crashkernel=256M"],
    timeoutMs: TIMEOUT_MS,
    params: { LOAD_FLAGS: "-s -d", CRASH_APPEND },
  });
  await crashChecks(checker(t, result), /kexec_file_load\([^)]*\[KEXEC_FILE_ON_CRASH/);
});
