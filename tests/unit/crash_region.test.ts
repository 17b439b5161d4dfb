/**
 * Crash region discovery from /proc/iomem ("Crash kernel" resources,
 * kernel/crash_reserve.c): main = highest, optional low region, exit 1
 * (kexec-tools' die()) with the crashkernel= hint when none.
 */

import assert from "node:assert/strict";
import { findCrashRegions } from "../../lib/crash/region.ts";
import { ExitCode, formatError, KexecError } from "../../lib/errors.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";
import { fixtureText } from "../fixtures/fixtures.ts";

Deno.test("crash region: one reservation nested in System RAM", () => {
  const regions = findCrashRegions(parseIomem(fixtureText("iomem-qemu-seabios-1g.txt")));
  assert.deepEqual(regions, { main: { start: 0x35000000, end: 0x3d000000 } });
});

Deno.test("crash region: ,high + ,low: the highest is the main region, in any file order", () => {
  const regions = findCrashRegions(parseIomem(
    "00100000-bfffffff : System RAM\n  0b000000-12ffffff : Crash kernel\n" +
      "100000000-43fffffff : System RAM\n  420000000-43fffffff : Crash kernel\n",
  ));
  assert.deepEqual(regions.main, { start: 0x420000000, end: 0x440000000 });
  assert.deepEqual(regions.low, { start: 0xb000000, end: 0x13000000 });
});

Deno.test("crash region: found at any depth", () => {
  const regions = findCrashRegions(parseIomem(
    "00100000-7fffffff : System RAM\n  60000000-6fffffff : reserved\n" +
      "    60000000-6fffffff : Crash kernel\n",
  ));
  assert.deepEqual(regions.main, { start: 0x60000000, end: 0x70000000 });
  assert.equal(regions.low, undefined);
});

Deno.test("crash region: none reserved → exit 1 with the crashkernel= hint", () => {
  let err: unknown;
  try {
    findCrashRegions(
      parseIomem("00100000-7fffffff : System RAM\n  01000000-01ffffff : Kernel code\n"),
    );
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof KexecError);
  assert.equal(err.exitCode, ExitCode.USAGE);
  assert.equal(err.exitCode, 1);
  assert.match(formatError(err), /not reserved.*hint: .*crashkernel=256M/);
});

Deno.test("crash region: more than the kernel's two is refused, not guessed", () => {
  assert.throws(
    () =>
      findCrashRegions(parseIomem(
        "00100000-7fffffff : System RAM\n  10000000-10ffffff : Crash kernel\n" +
          "  20000000-20ffffff : Crash kernel\n  30000000-30ffffff : Crash kernel\n",
      )),
    (e) =>
      e instanceof KexecError && e.exitCode === ExitCode.FAILURE &&
      /3 "Crash kernel"/.test(e.message),
  );
});
