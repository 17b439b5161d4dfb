/**
 * Proves the harness itself with busybox-only guests (no kexec involved):
 * boot, the results port, step/value reporting, the second-stage reporter's
 * byte-exact command line and token, and the hard timeout.
 */
import assert from "node:assert/strict";
import { expectGuest, runGuestCase } from "./harness/guest.ts";
import { bootStage2Directly } from "./harness/stage2.ts";

Deno.test("e2e harness: a busybox guest runs the case script and reports steps and values", async () => {
  const run = await runGuestCase({
    name: "harness-selftest",
    script: "harness-selftest.sh",
    tool: false,
    timeoutMs: 60_000,
    params: { SELFTEST_FILE: "/proc/sys/kernel/ostype", SELFTEST_VALUE: `it's "quoted" $HOME` },
  });
  await expectGuest(run, ({ qemu, report, stage1Token, append }) => {
    assert.equal(qemu.timedOut, false);
    assert.equal(qemu.code, 0, "QEMU exits 0 after poweroff -f");
    assert.equal(report.stage1?.token, stage1Token);
    const both = report.steps.get("echo_both");
    assert.deepEqual(both?.out, ["to stdout", "second line"]);
    assert.deepEqual(both?.err, ["to stderr"]);
    assert.equal(both?.rc, 0);
    assert.equal(both?.complete, true);
    assert.equal(report.steps.get("fails")?.rc, 3);
    assert.deepEqual(report.steps.get("no_newline")?.out, ["partial"]);
    assert.deepEqual(report.values.get("cmdline"), [append]);
    assert.deepEqual(report.values.get("missing"), ["<missing>"]);
    assert.deepEqual(report.values.get("param"), ["Linux"]);
    assert.deepEqual(report.values.get("quoted"), [`it's "quoted" $HOME`]);
    assert.equal(report.caseRc, 0);
    assert.equal(report.stage1Ended, true);
    assert.equal(report.stage2, undefined);
  });
});

Deno.test("e2e harness: the second-stage reporter prints the exact cmdline and its token", async () => {
  // Boots the second-stage initrd directly, so its reporting is proven without kexec.
  const run = await bootStage2Directly({
    name: "stage2-direct",
    args: `panic=-1 e2e.arg="a b" x=1 e2e.sq='c d'  two-spaces`,
    timeoutMs: 60_000,
  });
  await expectGuest(run, ({ report, append, stage2Token }) => {
    assert.equal(append, `console=ttyS0 panic=-1 e2e.arg="a b" x=1 e2e.sq='c d'  two-spaces`);
    assert.equal(report.stage2?.token, stage2Token);
    assert.equal(report.stage2?.cmdline, append);
    assert.equal(report.stage2?.ended, true);
    assert.equal(report.stage2?.vmcore, undefined, "no /proc/vmcore outside a crash kernel");
  });
});

Deno.test("e2e harness: a guest that hangs is killed at its timeout", async () => {
  const timeoutMs = 15_000;
  const run = await runGuestCase({
    name: "harness-hang",
    script: "hang.sh",
    tool: false,
    timeoutMs,
  });
  await expectGuest(run, ({ qemu, report }) => {
    assert.equal(qemu.timedOut, true);
    assert.equal(qemu.code, null, "killed, not exited");
    assert.deepEqual(report.values.get("hanging"), ["yes"], "the guest was running when killed");
    // The harness stretches a timeout on a loaded host, never shortens it.
    assert.ok(qemu.timeoutMs >= timeoutMs, `${qemu.timeoutMs} ms`);
    assert.ok(
      qemu.durationMs >= qemu.timeoutMs && qemu.durationMs < qemu.timeoutMs + 5_000,
      `${qemu.durationMs} ms of ${qemu.timeoutMs} ms`,
    );
  });
});
