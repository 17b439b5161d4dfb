/**
 * Proves the harness itself with busybox-only guests (no kexec involved):
 * boot, the results port, step/value reporting, the second-stage reporter's
 * byte-exact command line and token, and the hard timeout.
 */
import assert from "node:assert/strict";
import { expectGuest, runGuestCase } from "./harness/guest.ts";
import { stage2Archive } from "./harness/image.ts";
import { runQemu } from "./harness/qemu.ts";
import { parseReport } from "./harness/results.ts";
import { defaultCacheDir, ensureTestAssets } from "../../scripts/fetch-test-assets.ts";

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
  const assets = await ensureTestAssets();
  await Deno.mkdir(`${defaultCacheDir()}/tmp`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${defaultCacheDir()}/tmp`, prefix: "stage2-" });
  try {
    const token = crypto.randomUUID();
    const initrd = `${dir}/stage2.cpio`;
    await Deno.writeFile(
      initrd,
      stage2Archive(
        await Deno.readFile(assets.busybox),
        await Deno.readTextFile(new URL("./guest/stage2-init.sh", import.meta.url)),
        token,
      ),
    );
    const append = `console=ttyS0 panic=-1 e2e.arg="a b" x=1 e2e.sq='c d'  two-spaces`;
    const qemu = await runQemu({
      qemu: assets.qemu,
      kernel: assets.kernel,
      initrd,
      append,
      memoryMiB: 512,
      smp: 1,
      timeoutMs: 60_000,
      consoleLog: `${dir}/console.log`,
      resultsLog: `${dir}/results.log`,
    });
    console.log(`[e2e] stage2-direct: ${qemu.durationMs} ms wall`);
    const report = parseReport(qemu.results);
    const run = {
      spec: { name: "stage2-direct", script: "" },
      qemu,
      report,
    } as unknown as Parameters<typeof expectGuest>[0];
    await expectGuest(run, () => {
      assert.equal(report.stage2?.token, token);
      assert.equal(report.stage2?.cmdline, append);
      assert.equal(report.stage2?.ended, true);
      assert.equal(report.stage2?.vmcore, undefined, "no /proc/vmcore outside a crash kernel");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
    assert.ok(
      qemu.durationMs >= timeoutMs && qemu.durationMs < timeoutMs + 5_000,
      `${qemu.durationMs} ms`,
    );
  });
});
