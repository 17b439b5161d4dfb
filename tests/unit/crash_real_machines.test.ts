/**
 * The crash kernel's e820 and the dumped RAM for /proc/iomem of real machines
 * (tests/fixtures/machines: a server and a laptop from public reports, a UEFI
 * VM from this project's OVMF guest, each file citing its source). The
 * expected maps were worked out by hand from the kernel's own crash loader
 * and are stored next to the inputs.
 */

import assert from "node:assert/strict";
import { e820FromMemoryMap } from "../../lib/arch/x86_64/e820.ts";
import { dumpRamRanges, systemRamRanges } from "../../lib/crash/dump_ranges.ts";
import { crashKernelMemoryMap } from "../../lib/crash/memory_map.ts";
import { type CrashRegions, findCrashRegions } from "../../lib/crash/region.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";
import { e820Fixture, machineFixture } from "../fixtures/fixtures.ts";

const PAGE = 0x1000;
const hexList = (e: { addr: number; size: number; type: number }[]) =>
  e.map((x) => `0x${x.addr.toString(16)} 0x${x.size.toString(16)} ${x.type}`);

/** The crash e820 with the elfcorehdr in the main region's last page. */
function crashE820(iomemFile: string, regions?: CrashRegions) {
  const iomem = parseIomem(machineFixture(iomemFile));
  const found = regions ?? findCrashRegions(iomem);
  const elfcorehdr = { start: found.main.end - PAGE, end: found.main.end };
  return e820FromMemoryMap(crashKernelMemoryMap(iomem, found, [elfcorehdr]));
}

Deno.test("real machines: UEFI VM (OVMF q35): the Reserved range under PCI MMCONFIG is passed on", () => {
  const e820 = crashE820("iomem-uefi-qemu-ovmf-q35.txt");
  assert.deepEqual(hexList(e820), hexList(e820Fixture("crash-e820-uefi-qemu-ovmf-q35.txt")));
  assert.ok(e820.some((e) => e.addr === 0xb0000000 && e.type === 2), "ECAM window reserved");
});

Deno.test("real machines: server with ,high and ,low regions and legacy PMEM", () => {
  const iomem = parseIomem(machineFixture("iomem-server-hpe-pmem.txt"));
  const regions = findCrashRegions(iomem);
  assert.deepEqual(regions, {
    main: { start: 0x858000000, end: 0x878000000 },
    low: { start: 0x69000000, end: 0x79000000 },
  });
  assert.deepEqual(
    hexList(crashE820("iomem-server-hpe-pmem.txt")),
    hexList(e820Fixture("crash-e820-server-hpe-pmem.txt")),
  );
  // The dump: every System RAM range without the low 1 MiB and both regions; no PMEM.
  assert.deepEqual(dumpRamRanges(iomem, regions), [
    { start: 0x100000, end: 0x5a7a1000 },
    { start: 0x5b5e1000, end: 0x69000000 },
    { start: 0x79000000, end: 0x790ff000 },
    { start: 0x7b7ff000, end: 0x7b800000 },
    { start: 0x155e00000, end: 0x15982c000 },
    { start: 0x200000000, end: 0x858000000 },
    { start: 0x878000000, end: 0x880000000 },
  ]);
});

Deno.test("real machines: laptop: Reserved under PCI MMCONFIG and under Local APIC are passed on", () => {
  // The report reserved no crash memory; this region stands in for crashkernel=256M.
  const main = { start: 0x30000000, end: 0x40000000 };
  const e820 = crashE820("iomem-laptop-hp-spectre-x360.txt", { main });
  assert.deepEqual(hexList(e820), hexList(e820Fixture("crash-e820-laptop-hp-spectre-x360.txt")));
  for (const nested of [0xc0000000, 0xfee00000]) {
    assert.ok(e820.some((e) => e.addr === nested && e.type === 2), `0x${nested.toString(16)}`);
  }
  assert.ok(!e820.some((e) => e.addr === 0x5df41000), "Unknown E820 type is not passed");
  assert.ok(!e820.some((e) => e.addr === 0x498400000), "RAM buffer is not passed");
});

Deno.test("System RAM (kmem) of CXL memory below its window is dumped, and only once", () => {
  // The CXL excerpt of Huang Ying, "resource: fix region_intersects() vs
  // add_memory_driver_managed()" (https://lkml.kernel.org/r/20240906030713.204292-2-ying.huang@intel.com),
  // below a minimal RAM map with a crash region.
  const iomem = parseIomem(
    "00001000-0009ffff : System RAM\n" +
      "00100000-7fffffff : System RAM\n" +
      "  70000000-7fffffff : Crash kernel\n" +
      "490000000-50fffffff : CXL Window 0\n" +
      "  490000000-50fffffff : region0\n" +
      "    490000000-50fffffff : dax0.0\n" +
      "      490000000-50fffffff : System RAM (kmem)\n",
  );
  assert.deepEqual(systemRamRanges(iomem).at(-1), { start: 0x490000000, end: 0x510000000 });
  assert.deepEqual(dumpRamRanges(iomem, findCrashRegions(iomem)), [
    { start: 0x100000, end: 0x70000000 },
    { start: 0x490000000, end: 0x510000000 },
  ]);
  const crashMap = crashKernelMemoryMap(iomem, findCrashRegions(iomem));
  assert.ok(!crashMap.some((r) => r.start >= 0x490000000), "the crash kernel never gets it");
});
