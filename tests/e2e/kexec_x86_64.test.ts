/**
 * End-to-end cases of the tool on x86_64 (Debian 6.1 kernel, QEMU TCG). Each
 * Deno.test is one guest boot; its t.steps are the checks on what the guest
 * reported. The scripts are in tests/e2e/cases/.
 */
import assert from "node:assert/strict";
import { type GuestRun, runGuestCase } from "./harness/guest.ts";
import { checker, expectMakedumpfileReads, expectRc, stepInfo, value } from "./harness/checks.ts";

/** Command line for the second kernel: quotes and spaces must arrive byte for byte. */
const KEXEC_APPEND = `console=ttyS0 panic=-1 e2e.arg="a b" x=1 e2e.sq='c d'`;
/** Command line for the crash kernel (elfcorehdr= is added by the kernel or the tool). */
const CRASH_APPEND = "console=ttyS0 panic=-1 irqpoll nr_cpus=1 reset_devices e2e.crash=1";
const CRASH_KERNEL_ARGS = ["crashkernel=256M"];
const ET_CORE = 4;
const EM_X86_64 = 62;

/** `-S --json` output; its exit status follows -S (1 when the checked image is loaded). */
function json(run: GuestRun, name: string, rc: number) {
  const s = expectRc(run, name, rc);
  try {
    return JSON.parse(s.out.join("\n"));
  } catch (err) {
    throw new assert.AssertionError({ message: `${stepInfo(s)}\nnot JSON: ${err}` });
  }
}

function expectSecondStage(run: GuestRun): void {
  const stage2 = run.report.stage2;
  assert.ok(stage2, "the second kernel's initrd never reported (it did not boot)");
  assert.equal(stage2.token, run.stage2Token, "second stage token (is it our initrd?)");
  assert.equal(stage2.ended, true);
}

Deno.test("e2e x86_64: -s -l with initrd and quoted --append, then -e boots it", async (t) => {
  const run = await runGuestCase({
    name: "load-exec-file",
    script: "load-exec.sh",
    params: { LOAD_FLAGS: "-s", KEXEC_APPEND },
  });
  const check = checker(t, run);
  await check("-s -l succeeds and sets /sys/kernel/kexec_loaded", (run) => {
    assert.equal(run.report.stage1?.token, run.stage1Token);
    assert.equal(value(run, "loaded_before"), "0");
    expectRc(run, "load", 0);
    assert.equal(value(run, "loaded_after"), "1");
  });
  await check("-e boots the second kernel with our initrd", (run) => {
    assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
    expectSecondStage(run);
  });
  await check("the second kernel's /proc/cmdline is exactly the --append text", (run) => {
    assert.equal(run.report.stage2?.cmdline, KEXEC_APPEND);
    assert.equal(run.report.stage2?.kernel, run.report.stage1?.kernel);
  });
});

Deno.test("e2e x86_64: -S, -S -l, --json, -u, -p, -p -u; -e with nothing loaded is refused", async (t) => {
  const run = await runGuestCase({
    name: "status-unload",
    script: "status-unload.sh",
    kernelArgs: CRASH_KERNEL_ARGS,
    params: { KEXEC_APPEND, CRASH_APPEND },
  });
  const check = checker(t, run);
  await check("with nothing loaded: -S and -S -l exit 0, --json says not loaded", (run) => {
    expectRc(run, "status_crash_none", 0);
    expectRc(run, "status_normal_none", 0);
    const status = json(run, "json_none", 0);
    assert.equal(status.normal?.loaded, false);
    assert.equal(status.crash?.loaded, false);
  });
  await check("after -s -l: kexec_loaded 1, -S -l exits 1, -S (crash) still 0", (run) => {
    expectRc(run, "load", 0);
    assert.equal(value(run, "loaded_after_load"), "1");
    expectRc(run, "status_normal_loaded", 1);
    expectRc(run, "status_crash_still_none", 0);
    const status = json(run, "json_normal_loaded", 0);
    assert.equal(status.normal?.loaded, true);
    assert.equal(status.crash?.loaded, false);
  });
  await check("-u unloads: kexec_loaded 1 -> 0, -S -l exits 0", (run) => {
    expectRc(run, "unload", 0);
    assert.equal(value(run, "loaded_after_unload"), "0");
    expectRc(run, "status_normal_unloaded", 0);
  });
  await check("-p loads the crash kernel: -S exits 1, -S -l 0, --json reports it", (run) => {
    expectRc(run, "crash_load", 0);
    assert.equal(value(run, "crash_loaded_after_load"), "1");
    expectRc(run, "status_crash_loaded", 1);
    expectRc(run, "status_normal_while_crash", 0);
    const status = json(run, "json_crash_loaded", 1);
    assert.equal(status.crash?.loaded, true);
    assert.equal(status.normal?.loaded, false);
    assert.equal(status.crash?.size, Number(value(run, "crash_size")));
    assert.ok(status.crash.size >= 256 * 2 ** 20, `crash size ${status.crash.size}`);
  });
  await check("-p -u unloads the crash kernel: kexec_crash_loaded 1 -> 0, -S exits 0", (run) => {
    expectRc(run, "crash_unload", 0);
    assert.equal(value(run, "crash_loaded_after_unload"), "0");
    expectRc(run, "status_crash_unloaded", 0);
  });
  await check(
    "-e with nothing loaded: exit 1, 'Nothing has been loaded!', guest keeps running",
    (run) => {
      const s = expectRc(run, "exec_nothing", 1);
      assert.match(s.err.join("\n"), /^kexec: Nothing has been loaded!/m, stepInfo(s));
      assert.equal(value(run, "lo_flags_after"), value(run, "lo_flags_before"), "lo untouched");
      assert.equal(Number(value(run, "lo_flags_after")) & 1, 1, "lo is still IFF_UP");
      assert.equal(value(run, "alive_after_exec"), "yes");
      assert.equal(run.report.stage1Ended, true);
      assert.equal(run.report.stage2, undefined, "no second kernel booted");
    },
  );
});

Deno.test("e2e x86_64: kdump-config's -p -s --command-line=… --initrd=… KERNEL boots on sysrq-c and sees /proc/vmcore", async (t) => {
  const run = await runGuestCase({
    name: "crash-file",
    script: "crash.sh",
    kernelArgs: CRASH_KERNEL_ARGS,
    params: { LOAD_FLAGS: "-s", CRASH_APPEND },
  });
  const check = checker(t, run);
  await check("-p -s succeeds and sets kexec_crash_loaded", (run) => {
    assert.ok(
      Number(value(run, "crash_size")) >= 256 * 2 ** 20,
      `size ${value(run, "crash_size")}`,
    );
    expectRc(run, "crash_load", 0);
    assert.equal(value(run, "crash_loaded"), "1");
    assert.equal(value(run, "triggering_crash"), "yes");
    assert.equal(value(run, "survived_crash"), undefined);
  });
  await check("the crash kernel boots with our initrd and command line", (run) => {
    expectSecondStage(run);
    const cmdline = run.report.stage2!.cmdline ?? "";
    // The loader adds elfcorehdr= (kexec_file_load puts it first); the rest is ours, verbatim.
    assert.match(cmdline, /(^| )elfcorehdr=\S+( |$)/);
    assert.equal(cmdline.replace(/(^| )elfcorehdr=\S+( |$)/, " ").trim(), CRASH_APPEND);
  });
  await check("/proc/vmcore is an x86_64 ELF core of about the guest's RAM", (run) => {
    const vmcore = run.report.stage2?.vmcore;
    assert.ok(vmcore, "no /proc/vmcore in the crash kernel");
    assert.deepEqual([...vmcore.head.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], "ELF magic");
    const view = new DataView(vmcore.head.buffer, vmcore.head.byteOffset, vmcore.head.byteLength);
    assert.equal(view.getUint16(0x10, true), ET_CORE, "e_type");
    assert.equal(view.getUint16(0x12, true), EM_X86_64, "e_machine");
    assert.ok(view.getUint16(0x38, true) >= 2, "e_phnum: a PT_NOTE and at least one PT_LOAD");
    // 2 GiB guest minus the 256 MiB crash region and firmware holes.
    assert.ok(vmcore.size > 1.5 * 2 ** 30 && vmcore.size < 2 * 2 ** 30, `size ${vmcore.size}`);
    assert.equal(vmcore.osrelease, run.report.stage1?.kernel, "VMCOREINFO OSRELEASE");
  });
  await check("makedumpfile -F -l -d 31 reads /proc/vmcore (exit 0)", expectMakedumpfileReads);
});

Deno.test("e2e x86_64: -c -l (kexec_load, own trampoline) then -e boots it with the exact cmdline", async (t) => {
  const run = await runGuestCase({
    name: "load-exec-syscall",
    script: "load-exec.sh",
    params: { LOAD_FLAGS: "-c", KEXEC_APPEND },
  });
  const check = checker(t, run);
  await check("-c -l succeeds and sets /sys/kernel/kexec_loaded", (run) => {
    assert.equal(value(run, "loaded_before"), "0");
    expectRc(run, "load", 0);
    assert.equal(value(run, "loaded_after"), "1");
  });
  await check("-e boots the second kernel with our initrd and the exact cmdline", (run) => {
    assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
    expectSecondStage(run);
    assert.equal(run.report.stage2?.cmdline, KEXEC_APPEND);
  });
});
