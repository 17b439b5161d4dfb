/**
 * The test kernels built from Debian's linux-source by
 * scripts/build-test-kernel.ts boot in the harness and run the tool:
 * the arm64 one (CONFIG_KEXEC_FILE) directly and through UEFI, with a kdump
 * through kexec_file_load whose vmcore makedumpfile reads; the x86_64 one
 * (CONFIG_KEXEC_JUMP) accepting a --load-preserve-context load.
 * Each Deno.test is one boot; the checks are its steps.
 */
import assert from "node:assert/strict";
import { checker, expectRc, step, stepInfo, value } from "./harness/checks.ts";
import { runGuestCase } from "./harness/guest.ts";
import { kernelConfig, status, toolAnswers } from "./harness/smoke.ts";

/**
 * Measured quiet run times (2 vCPUs, TCG, a 2-core host): arm64 smoke + kdump with
 * makedumpfile 14 s, arm64 UEFI 10 s, x86_64 smoke + kjump load 20 s. Each timeout is
 * over three times that.
 */
const ARM64_KDUMP_TIMEOUT_MS = 60_000;
const ARM64_UEFI_TIMEOUT_MS = 60_000;
const X86_TIMEOUT_MS = 75_000;
const EM_AARCH64 = 183;
const ARM64_CRASH_APPEND = "console=ttyAMA0 panic=-1 nr_cpus=1 reset_devices e2e.kdump=1";

Deno.test("e2e test kernel arm64 (KEXEC_FILE): boots directly, -S shows kexec_file_load; -s -p and sysrq-c give a vmcore makedumpfile reads", async (t) => {
  const run = await runGuestCase({
    name: "testkernel-arm64-kdump",
    script: "arch-smoke.sh",
    arch: "aarch64",
    kernel: "test",
    kernelArgs: ["crashkernel=256M"],
    makedumpfile: true,
    params: { SMOKE_KDUMP_FLAGS: "-s", CRASH_APPEND: ARM64_CRASH_APPEND },
    timeoutMs: ARM64_KDUMP_TIMEOUT_MS,
  });
  const check = checker(t, run);
  assert.equal((await kernelConfig(run)).get("CONFIG_KEXEC_FILE"), "y");
  await toolAnswers(check, run);
  await check("-S --json: kexec_file_load available", (run) => {
    assert.equal(status(run).syscalls.kexec_file_load, "available");
  });
  await check("-s -p loads a crash kernel into the crashkernel= region", (run) => {
    assert.ok(Number(value(run, "crash_size")) >= 256 * 2 ** 20, value(run, "crash_size"));
    const load = expectRc(run, "crash_load", 0);
    assert.equal(value(run, "crash_loaded"), "1", stepInfo(load));
    assert.equal(value(run, "survived_crash"), undefined, "the first kernel survived sysrq-c");
  });
  await check("the crash kernel runs our second stage: token, exact command line", (run) => {
    const stage2 = run.report.stage2;
    assert.ok(stage2, "the crash kernel's initrd never reported");
    assert.equal(stage2.token, run.stage2Token);
    assert.equal(stage2.cmdline, ARM64_CRASH_APPEND);
    assert.equal(stage2.ended, true);
  });
  await check("/proc/vmcore: an arm64 ELF core whose VMCOREINFO names the first kernel", (run) => {
    const vmcore = run.report.stage2?.vmcore;
    assert.ok(vmcore, "no /proc/vmcore");
    assert.deepEqual([...vmcore.head.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    const view = new DataView(vmcore.head.buffer, vmcore.head.byteOffset);
    assert.equal(view.getUint16(0x12, true), EM_AARCH64, "e_machine");
    assert.equal(vmcore.osrelease, run.report.stage1?.kernel);
  });
  await check("makedumpfile (arm64 build, in the crash initrd) reads the whole vmcore", (run) => {
    const m = run.report.stage2?.makedumpfile;
    assert.ok(m, "makedumpfile did not run");
    assert.equal(m.rc, 0, m.err.join("\n"));
  });
});

Deno.test("e2e test kernel arm64 (KEXEC_FILE) under UEFI (AAVMF): boots through its EFI stub and runs the tool", async (t) => {
  const run = await runGuestCase({
    name: "testkernel-arm64-uefi",
    script: "arch-smoke.sh",
    arch: "aarch64",
    kernel: "test",
    firmware: "uefi",
    timeoutMs: ARM64_UEFI_TIMEOUT_MS,
  });
  const check = checker(t, run);
  await toolAnswers(check, run);
  await check("UEFI boot: EFI and ACPI present; the DT has no memory node", (run) => {
    assert.equal(value(run, "firmware_efi"), "yes");
    assert.equal(value(run, "firmware_acpi"), "yes");
    assert.deepEqual(step(run, "dt_memory").out, []);
  });
});

Deno.test("e2e test kernel x86_64 (KEXEC_JUMP): runs the tool and accepts a --load-preserve-context load", async (t) => {
  const run = await runGuestCase({
    name: "testkernel-x86_64-kjump",
    script: "arch-smoke.sh",
    kernel: "test",
    params: { SMOKE_KJUMP: "yes" },
    timeoutMs: X86_TIMEOUT_MS,
  });
  const check = checker(t, run);
  assert.equal((await kernelConfig(run)).get("CONFIG_KEXEC_JUMP"), "y");
  await toolAnswers(check, run);
  await check(
    "kexec -l --load-preserve-context: the kernel accepts KEXEC_PRESERVE_CONTEXT",
    (run) => {
      const load = expectRc(run, "jump_load", 0);
      assert.equal(value(run, "jump_loaded"), "1", stepInfo(load));
      expectRc(run, "jump_unload", 0);
      assert.equal(value(run, "jump_loaded_after_unload"), "0");
    },
  );
});
