/**
 * `--dry-run` through the command: the memory map drawn after the plans on
 * both architectures and both syscalls, its data under `memory_map` in
 * `--json`, and a dry run that still answers when no map can be read.
 */

import assert from "node:assert/strict";
import { runCli } from "../../lib/cli/run.ts";
import { PATHS } from "../../lib/abi.ts";
import { CRASH_REGION, crashMachine } from "../support/crash_machine.ts";
import { KERNEL, machine } from "../support/machine.ts";
import { IMAGE, VIRT, virtMachine } from "../support/arm64_machine.ts";

/** The drawing: from its header line to the end of the output. */
function drawing(stdout: string): string[] {
  const lines = stdout.trimEnd().split("\n");
  const at = lines.findIndex((l) => l.startsWith("physical memory "));
  assert.ok(at >= 0, stdout);
  return lines.slice(at);
}

/** A row's range as printed (addresses zero-padded to the widest in the map). */
const rangeOf = (start: number, end: number) =>
  new RegExp(`0x0*${start.toString(16)}-0x0*${(end - 1).toString(16)} `);

Deno.test("x86_64 -c -p --dry-run: the crash region in RAM and every segment inside it", async () => {
  const sys = crashMachine();
  assert.equal(await runCli(["-c", "-p", KERNEL, "--dry-run"], sys), 0, sys.stderr);
  assert.equal(sys.calls.filter((c) => c.op.startsWith("kexec")).length, 0);
  const lines = drawing(sys.stdout);
  assert.equal(lines[0], "physical memory from /proc/iomem");
  for (const l of lines) assert.ok(l.length <= 80, l);
  const crash = lines.find((l) => l.endsWith("Crash kernel"))!;
  assert.match(crash, /^ {2}\| 0x/);
  assert.match(crash, rangeOf(CRASH_REGION.start, CRASH_REGION.end));
  for (const name of ["kernel", "purgatory", "boot_params", "elfcorehdr"]) {
    const row = lines.find((l) => new RegExp(`\\[.\\] ${name}$`).test(l));
    assert.ok(
      row?.startsWith("  | | 0x"),
      `${name} nested in the crash region:\n${lines.join("\n")}`,
    );
    const start = parseInt(/0x([0-9a-f]+)-/.exec(row!)![1], 16);
    assert.ok(start >= CRASH_REGION.start && start < CRASH_REGION.end, row);
  }
});

Deno.test("x86_64 --json: memory_map has the ranges, the crash region and the segments of the plan", async () => {
  const sys = crashMachine();
  assert.equal(await runCli(["-c", "-p", KERNEL, "--dry-run", "--json"], sys), 0, sys.stderr);
  const out = JSON.parse(sys.stdout);
  assert.equal(out.memory_map.source, "/proc/iomem");
  assert.deepEqual(out.memory_map.areas, [{ ...CRASH_REGION, name: "Crash kernel" }]);
  assert.ok(out.memory_map.regions.some((r: { name: string }) => r.name === "System RAM"));
  const plan = out.plans[0];
  assert.deepEqual(
    out.memory_map.segments,
    plan.segments.map((s: { name: string; mem: number; memsz: number }) => ({
      start: s.mem,
      end: s.mem + s.memsz,
      name: s.name,
    })),
  );
});

Deno.test("-s --dry-run: the map without segments, and who places them", async () => {
  const sys = crashMachine();
  assert.equal(await runCli(["-s", "-p", KERNEL, "--dry-run"], sys), 0, sys.stderr);
  const text = drawing(sys.stdout).join("\n");
  assert.match(text, /kexec_file_load places its segments itself inside the crash region/);
  assert.match(text, /Crash kernel/);
  assert.doesNotMatch(text, /\[.\] /);
  const json = crashMachine();
  assert.equal(await runCli(["-s", "-l", KERNEL, "--dry-run", "--json"], json), 0);
  assert.deepEqual(JSON.parse(json.stdout).memory_map.segments, []);
});

Deno.test("auto mode: the kexec_load fallback's segments are drawn, once", async () => {
  const sys = crashMachine();
  assert.equal(await runCli(["-l", KERNEL, "--dry-run"], sys), 0, sys.stderr);
  const lines = drawing(sys.stdout);
  assert.equal(lines.filter((l) => l.startsWith("physical memory")).length, 1);
  assert.match(lines.join(" "), /those of the\s+kexec_load fallback/);
  assert.ok(lines.some((l) => /\[K\] kernel$/.test(l)));
});

Deno.test("no /proc/iomem: the memory map kexec_load reads; neither: the dry run still answers", async () => {
  const memmap = machine();
  assert.equal(await runCli(["-c", "-l", KERNEL, "--dry-run"], memmap), 0, memmap.stderr);
  assert.match(drawing(memmap.stdout)[0], /^physical memory from \/sys\/firmware\/memmap$/);
  const none = machine({ [PATHS.firmwareMemmap]: undefined });
  assert.equal(await runCli(["-s", "-l", KERNEL, "--dry-run"], none), 0, none.stderr);
  assert.match(drawing(none.stdout).join(" "), /^physical memory unknown: .*\/proc\/iomem/);
});

Deno.test("arm64 -c -p --dry-run: kernel, initrd, dtb, purgatory and elfcorehdr in the crash region", async () => {
  for (const boot of ["direct", "uefi"] as const) {
    const sys = virtMachine(boot);
    assert.equal(await runCli(["-c", "-p", IMAGE, "--dry-run"], sys), 0, sys.stderr);
    const lines = drawing(sys.stdout);
    for (const l of lines) assert.ok(l.length <= 80, l);
    const { start, end } = VIRT[boot].crashRegion;
    assert.ok(
      lines.some((l) => l.startsWith("  | 0x") && rangeOf(start, end).test(l)),
      lines.join("\n"),
    );
    for (const name of ["kernel", "dtb", "purgatory", "elfcorehdr"]) {
      assert.ok(
        lines.some((l) => l.startsWith("  | | 0x") && new RegExp(`\\[.\\] ${name}$`).test(l)),
        `${boot}: ${name}\n${lines.join("\n")}`,
      );
    }
    assert.ok(!lines.some((l) => l.includes(" ! ")), lines.join("\n"));
  }
});
