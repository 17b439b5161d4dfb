/**
 * arm64 guests (qemu-system-aarch64 `-M virt -cpu max`, TCG) with Debian's
 * arm64 kernel: booted directly (QEMU's device tree) and through UEFI (AAVMF:
 * ACPI, and a device tree without memory nodes). The tool is the host's bundle
 * run by arm64 deno. Also the second-stage reporter with arm64 busybox.
 * Each Deno.test is one boot; the checks are its steps.
 */
import assert from "node:assert/strict";
import { checker, step, value } from "./harness/checks.ts";
import { expectGuest, runGuestCase } from "./harness/guest.ts";
import { toolAnswers } from "./harness/smoke.ts";
import { bootStage2Directly } from "./harness/stage2.ts";

/**
 * Measured quiet run times (2 vCPUs, TCG, a 2-core host): direct boot 20 s, UEFI 24 s,
 * second stage alone 3 s. Each timeout is over three times that.
 */
const DIRECT_TIMEOUT_MS = 75_000;
const UEFI_TIMEOUT_MS = 90_000;
const STAGE2_TIMEOUT_MS = 30_000;

Deno.test("e2e aarch64: Debian's arm64 kernel booted directly runs the tool (-S, --dry-run) and reports QEMU's DT", async (t) => {
  const run = await runGuestCase({
    name: "arm64-smoke-direct",
    script: "arch-smoke.sh",
    arch: "aarch64",
    timeoutMs: DIRECT_TIMEOUT_MS,
  });
  const check = checker(t, run);
  await toolAnswers(check, run);
  await check("direct boot: QEMU's device tree with a memory node, no EFI", (run) => {
    assert.equal(value(run, "firmware_fdt"), "yes");
    assert.equal(value(run, "firmware_efi"), "no");
    assert.deepEqual(step(run, "dt_memory").out, ["/proc/device-tree/memory@40000000"]);
  });
});

Deno.test("e2e aarch64 UEFI (AAVMF): Debian's kernel through its EFI stub; ACPI; the DT has no memory nodes", async (t) => {
  const run = await runGuestCase({
    name: "arm64-smoke-uefi",
    script: "arch-smoke.sh",
    arch: "aarch64",
    firmware: "uefi",
    timeoutMs: UEFI_TIMEOUT_MS,
  });
  const check = checker(t, run);
  await toolAnswers(check, run);
  await check(
    "UEFI boot: EFI and ACPI present; the stub's DT exists but has no memory node",
    (run) => {
      assert.equal(value(run, "firmware_efi"), "yes");
      assert.equal(value(run, "firmware_acpi"), "yes");
      assert.equal(value(run, "firmware_fdt"), "yes");
      assert.deepEqual(step(run, "dt_memory").out, []);
    },
  );
});

Deno.test("e2e aarch64: the second-stage reporter (arm64 busybox, PCI results port) prints the exact cmdline and its token", async () => {
  const run = await bootStage2Directly({
    name: "arm64-stage2-direct",
    arch: "aarch64",
    args: `panic=-1 e2e.arg="a b" x=1 e2e.sq='c d'  two-spaces`,
    makedumpfile: true,
    timeoutMs: STAGE2_TIMEOUT_MS,
  });
  await expectGuest(run, ({ qemu, report, append, stage2Token }) => {
    assert.equal(qemu.timedOut, false);
    assert.equal(append, `console=ttyAMA0 panic=-1 e2e.arg="a b" x=1 e2e.sq='c d'  two-spaces`);
    assert.equal(report.stage2?.token, stage2Token);
    assert.equal(report.stage2?.cmdline, append);
    assert.equal(report.stage2?.ended, true);
    assert.equal(report.stage2?.vmcore, undefined, "no /proc/vmcore outside a crash kernel");
  });
});
