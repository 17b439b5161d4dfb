/**
 * kexec_load_limit_panic / _reboot (Linux ≥ 6.6): every load call spends a
 * load before the kernel looks at its flags (kernel/kexec.c,
 * kexec_load_check; kernel/kexec_file.c), which the recording kernel of
 * lib/sys/recording.ts does too. No probe and no retry may spend the load a
 * limit of 1 leaves for the real one; the recorded calls prove it.
 */

import { kernelA, WINDOW } from "../support/kjump_machine.ts";
import assert from "node:assert/strict";
import { PATHS } from "../../lib/abi.ts";
import { runCli } from "../../lib/cli/run.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { crashMachine } from "../support/crash_machine.ts";
import { KERNEL, machine } from "../support/machine.ts";

const OSRELEASE = "/proc/sys/kernel/osrelease";
const KEXEC_FILE_DEBUG = 0x8;
const KEXEC_FILE_ON_CRASH = 0x2;

/** A machine with these limits and a 6.1 kernel, which refuses KEXEC_FILE_DEBUG. */
function limited(panic: string, reboot: string, release = "6.1.0-57-amd64\n") {
  return machine({
    [PATHS.kexecLoadLimitPanic]: panic,
    [PATHS.kexecLoadLimitReboot]: reboot,
    [OSRELEASE]: release,
  }, { fileLoadErrnos: [] });
}

// A kexec jump's window, clear of the running kernel's RAM (kernel A of the
// kexec-jump tests: booted with mem=1280M).
const JUMP_WINDOW = [
  `--mem-min=0x${WINDOW.min.toString(16)}`,
  `--mem-max=0x${WINDOW.max.toString(16)}`,
];

function limitedJump(panic: string, reboot: string) {
  return kernelA({
    [PATHS.kexecLoadLimitPanic]: panic,
    [PATHS.kexecLoadLimitReboot]: reboot,
    [OSRELEASE]: "6.1.0-57-amd64\n",
  }, { fileLoadErrnos: [] });
}

Deno.test("the recording kernel spends limits as Linux 6.6 does: refused calls count, 0 is EPERM", () => {
  const sys = limited("1\n", "-1\n");
  assert.equal(sys.kexecFileLoad(3, -1, null, 0x8000 | KEXEC_FILE_ON_CRASH), 0);
  assert.equal(sys.readText(PATHS.kexecLoadLimitPanic), "0\n");
  assert.equal(sys.kexecFileLoad(3, -1, null, KEXEC_FILE_ON_CRASH), Errno.EPERM);
  assert.equal(sys.kexecFileLoad(3, -1, null, 0), 0, "the reboot limit is unlimited");
});

Deno.test("-p -d with kexec_load_limit_panic=1 on a 6.1 kernel: one call, without KEXEC_FILE_DEBUG, and it loads", async () => {
  const sys = limited("1\n", "-1\n");
  assert.equal(await runCli(["-p", "-d", KERNEL, "--append=irqpoll"], sys), 0, sys.stderr);
  const calls = sys.callsOf("kexec_file_load");
  assert.deepEqual(calls.map((c) => c.flags), [KEXEC_FILE_ON_CRASH | 0x4]);
  assert.equal(sys.readText(PATHS.kexecCrashLoaded), "1\n");
  assert.equal(sys.readText(PATHS.kexecLoadLimitPanic), "0\n", "spent by the load itself");
  assert.match(sys.stderr, /KEXEC_FILE_DEBUG not asked for: kexec_load_limit_panic allows 1/);
});

Deno.test("-p -d with kexec_load_limit_panic=1 on a 6.8 kernel: one call, with KEXEC_FILE_DEBUG", async () => {
  const sys = limited("1\n", "-1\n", "6.8.0-31-generic\n");
  assert.equal(await runCli(["-p", "-d", KERNEL], sys), 0, sys.stderr);
  assert.deepEqual(
    sys.callsOf("kexec_file_load").map((c) => c.flags),
    [KEXEC_FILE_ON_CRASH | 0x4 | KEXEC_FILE_DEBUG],
  );
});

Deno.test("without a limit -d still tries KEXEC_FILE_DEBUG and retries on EINVAL", async () => {
  const sys = machine({ [OSRELEASE]: "6.1.0-57-amd64\n" }, { fileLoadErrnos: [Errno.EINVAL] });
  assert.equal(await runCli(["-p", "-d", KERNEL], sys), 0, sys.stderr);
  assert.deepEqual(sys.callsOf("kexec_file_load").map((c) => c.flags & KEXEC_FILE_DEBUG), [8, 0]);
});

Deno.test("the KEXEC_JUMP probe costs the reboot limit only; a panic limit of 1 still loads a crash kernel after it and after -d", async () => {
  const sys = limitedJump("1\n", "-1\n");
  const jump = ["--load-preserve-context", ...JUMP_WINDOW, "-d", KERNEL];
  assert.equal(await runCli(jump, sys), 0, sys.stderr);
  assert.equal(sys.readText(PATHS.kexecLoadLimitPanic), "1\n", "the probe spent no crash load");
  assert.equal(await runCli(["-p", "-d", KERNEL], sys), 0, sys.stderr);
  assert.deepEqual(
    sys.calls.filter((c) => c.op !== "kmsg").map((c) => `${c.op} ${"flags" in c ? c.flags : ""}`),
    [
      "probe_kexec_load_flags 4063234", // KEXEC_PRESERVE_CONTEXT | x86_64: no crash bit
      "kexec_load 4063234",
      `kexec_file_load ${KEXEC_FILE_ON_CRASH | 0x4}`,
    ],
  );
  assert.equal(sys.readText(PATHS.kexecCrashLoaded), "1\n");
  assert.equal(sys.readText(PATHS.kexecLoadLimitPanic), "0\n");
});

Deno.test("with kexec_load_limit_reboot=1 the KEXEC_JUMP probe is not sent: the one load is the load", async () => {
  const sys = limitedJump("-1\n", "1\n");
  const argv = ["--load-preserve-context", ...JUMP_WINDOW, "-d", KERNEL];
  assert.equal(await runCli(argv, sys), 0, sys.stderr);
  assert.deepEqual(sys.calls.filter((c) => c.op !== "kmsg").map((c) => c.op), ["kexec_load"]);
  assert.equal(sys.readText(PATHS.kexecLoaded), "1\n");
  assert.match(sys.stderr, /not asking the kernel whether it has CONFIG_KEXEC_JUMP/);
  // A kernel without kexec jump refuses the load itself; the message names the cause.
  const nojump = kernelA({
    [PATHS.kexecLoadLimitReboot]: "1\n",
  }, { loadErrnos: [Errno.EINVAL] });
  assert.equal(
    await runCli(["--load-preserve-context", ...JUMP_WINDOW, KERNEL], nojump),
    255,
  );
  assert.match(nojump.stderr, /KEXEC_PRESERVE_CONTEXT needs a kernel built with CONFIG_KEXEC_JUMP/);
  assert.equal(nojump.callsOf("probe_kexec_load_flags").length, 0);
});

Deno.test("auto: a failed kexec_file_load that spent the last allowed load is not followed by a doomed kexec_load", async () => {
  const sys = crashMachine({ [PATHS.kexecLoadLimitPanic]: "1\n" }, {
    fileLoadErrnos: [Errno.ENOEXEC],
  });
  assert.equal(await runCli(["-p", KERNEL], sys), 255);
  assert.match(
    sys.stderr,
    /spent the last load kexec_load_limit_panic allowed: kexec_load was not tried/,
  );
  assert.equal(sys.callsOf("kexec_load").length, 0);
  // With loads left the fallback happens as usual.
  const two = crashMachine({ [PATHS.kexecLoadLimitPanic]: "2\n" }, {
    fileLoadErrnos: [Errno.ENOEXEC],
  });
  assert.equal(await runCli(["-p", KERNEL], two), 0, two.stderr);
  assert.equal(two.callsOf("kexec_load").length, 1);
});

Deno.test("-S under a limit asks the kernel nothing", async () => {
  for (const [panic, reboot] of [["1\n", "-1\n"], ["-1\n", "1\n"]]) {
    const sys = limited(panic, reboot);
    await runCli(["-S"], sys);
    assert.deepEqual(sys.calls.filter((c) => c.op !== "kmsg"), []);
    assert.equal(sys.readText(PATHS.kexecLoadLimitPanic), panic);
    assert.equal(sys.readText(PATHS.kexecLoadLimitReboot), reboot);
  }
});
