/**
 * `deno task demo` (scripts/demo.ts) judges a guest by its report: success
 * only when the second kernel, with the token of our initrd, reports exactly
 * the command line given to kexec. The guest run itself is `deno task demo`.
 */
import assert from "node:assert/strict";
import { DEMO_PACKAGES, describe } from "../../scripts/demo.ts";
import type { GuestRun } from "../e2e/harness/guest.ts";
import { parseReport } from "../e2e/harness/results.ts";

const APPEND = `console=ttyS0 demo="a b"`;

function hex(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function runWith(lines: string[]): GuestRun {
  return {
    stage2Token: "t2",
    report: parseReport(["E2E-STAGE1 token=t1 kernel=6.1.0 uptime=1", ...lines].join("\n")),
  } as unknown as GuestRun;
}

function quietly<T>(work: () => T): T {
  const log = console.log;
  console.log = () => {};
  try {
    return work();
  } finally {
    console.log = log;
  }
}

Deno.test("demo: succeeds when the second kernel reports exactly the command line", () => {
  const run = runWith([
    "E2E-STAGE2 token=t2 kernel=6.1.0 uptime=1",
    `E2E-CMDLINE-HEX ${hex(APPEND)}0a`,
  ]);
  assert.equal(quietly(() => describe(run, APPEND)), true);
});

Deno.test("demo: fails on another command line, another initrd's token, or no second kernel", () => {
  const other = runWith([
    "E2E-STAGE2 token=t2 kernel=6.1.0 uptime=1",
    `E2E-CMDLINE-HEX ${hex("x")}0a`,
  ]);
  assert.equal(quietly(() => describe(other, APPEND)), false);
  const stranger = runWith([
    "E2E-STAGE2 token=zz kernel=6.1.0 uptime=1",
    `E2E-CMDLINE-HEX ${hex(APPEND)}0a`,
  ]);
  assert.equal(quietly(() => describe(stranger, APPEND)), false);
  assert.equal(quietly(() => describe(runWith([]), APPEND)), false);
});

Deno.test("demo: needs only QEMU for x86_64 and a static busybox from the host", () => {
  assert.deepEqual(DEMO_PACKAGES.map((p) => p.name).sort(), ["busybox-static", "qemu-system-x86"]);
});
