/** Pre-syscall refusals of kexec_load plans: each of the kernel's own checks, with its cause. */

import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import type { Segment, SegmentLoadPlan } from "../../lib/plan/types.ts";
import { type SegmentRules, validateSegmentPlan } from "../../lib/plan/validate.ts";

const PAGE = 4096;
const seg = (name: string, mem: number, memsz: number, bufsz = 16): Segment => ({
  name,
  mem,
  memsz,
  buf: new Uint8Array(bufsz),
});

function plan(segments: Segment[], over: Partial<SegmentLoadPlan> = {}): SegmentLoadPlan {
  return {
    syscall: "kexec_load",
    entry: segments[0]?.mem ?? 0,
    segments,
    flags: 0x3e0000,
    cmdline: "",
    notes: [],
    ...over,
  };
}

function refused(p: SegmentLoadPlan, rules: SegmentRules, pattern: RegExp) {
  assert.throws(() => validateSegmentPlan(p, rules), (e: unknown) => {
    assert.ok(e instanceof KexecError);
    assert.equal(e.exitCode, 255);
    assert.match(e.message, pattern);
    assert.match(e.message, /nothing was loaded/);
    return true;
  });
}

const rules: SegmentRules = { pageSize: PAGE };

Deno.test("a good plan passes", () => {
  validateSegmentPlan(plan([seg("a", 0x100000, 0x2000), seg("b", 0x102000, 0x1000)]), rules);
});

Deno.test("more than 16 segments → EINVAL", () => {
  const many = Array.from({ length: 17 }, (_, i) => seg(`s${i}`, 0x100000 + i * PAGE, PAGE));
  refused(plan(many), rules, /17 segments; kexec_load accepts at most 16.*EINVAL/);
});

Deno.test("bufsz > memsz → EINVAL", () => {
  refused(
    plan([seg("big", 0x100000, PAGE, PAGE + 1)]),
    rules,
    /bufsz 0x1001 exceeds memsz.*EINVAL/,
  );
});

Deno.test("unaligned mem or memsz → EADDRNOTAVAIL", () => {
  refused(plan([seg("a", 0x100800, PAGE)]), rules, /not aligned.*EADDRNOTAVAIL/);
  refused(plan([seg("a", 0x100000, 0x1800)]), rules, /not aligned.*EADDRNOTAVAIL/);
});

Deno.test("overlapping segments → EINVAL; touching ones are fine", () => {
  refused(plan([seg("a", 0x100000, 0x2000), seg("b", 0x101000, PAGE)]), rules, /overlap.*EINVAL/);
  validateSegmentPlan(plan([seg("a", 0x100000, PAGE), seg("b", 0x101000, PAGE)]), rules);
});

Deno.test("entry outside every segment is refused", () => {
  refused(
    plan([seg("a", 0x100000, PAGE)], { entry: 0x200000 }),
    rules,
    /entry 0x200000 is outside/,
  );
});

Deno.test("unknown flag bits → EINVAL", () => {
  refused(
    plan([seg("a", 0x100000, PAGE)], { flags: 0x3e0040 }),
    rules,
    /unknown kexec_load flag bits 0x40/,
  );
});

Deno.test("more than half of RAM → EINVAL", () => {
  refused(
    plan([seg("a", 0x100000, 0x10000)]),
    { pageSize: PAGE, ramBytes: 0x1f000 },
    /half of the/,
  );
  validateSegmentPlan(plan([seg("a", 0x100000, 0x10000)]), { pageSize: PAGE, ramBytes: 0x20000 });
});

Deno.test("crash segments and entry must lie inside the crash region → EADDRNOTAVAIL", () => {
  const crash = { pageSize: PAGE, crashRegion: { start: 0x60000000, end: 0x70000000 } };
  const inside = [seg("k", 0x60000000, 0x10000), seg("p", 0x6fff0000, 0x10000)];
  validateSegmentPlan(plan(inside, { flags: 0x3e0001 }), crash);
  refused(
    plan([seg("k", 0x5ffff000, 0x2000)], { flags: 0x3e0001 }),
    crash,
    /crash segment k .* outside the crash region.*EADDRNOTAVAIL/,
  );
  refused(
    plan([seg("k", 0x6fff0000, 0x20000)], { flags: 0x3e0001 }),
    crash,
    /outside the crash region/,
  );
  refused(plan(inside, { flags: 0x3e0001 }), { pageSize: PAGE }, /without a known crash region/);
});
