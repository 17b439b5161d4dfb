/**
 * The memory-map text parsers: /proc/iomem (parseIomem, then the memory map
 * and name search built on it), /sys/firmware/memmap entries
 * (parseFirmwareMemmap) and the hex addresses inside both (parseHexAddress).
 *
 * @module
 */

import {
  findIomem,
  iomemMemoryMap,
  type IomemNode,
  parseIomem,
} from "../../../lib/memory/iomem.ts";
import {
  type FirmwareMemmapEntry,
  parseFirmwareMemmap,
  parseHexAddress,
} from "../../../lib/memory/memmap.ts";
import { readMemoryMap } from "../../../lib/memory/source.ts";
import type { MemoryRange } from "../../../lib/memory/types.ts";
import { drawMemoryPicture } from "../../../lib/plan/memory_drawing.ts";
import { layoutFromIomem } from "../../../lib/plan/memory_picture.ts";
import { PATHS } from "../../../lib/abi.ts";
import type { System } from "../../../lib/sys/system.ts";
import { INTERESTING_NUMBERS, mutateNumberText, mutateText } from "../mutate_text.ts";
import { iomemTexts, memmapEntryLists } from "../seeds.ts";
import { check, checkInteger, defineTarget } from "../target.ts";

const IOMEM_TOKENS = [
  " : ",
  "-",
  "  ",
  "System RAM",
  "Crash kernel",
  "Kernel code",
  "Reserved",
  "ACPI Tables",
  "Soft Reserved",
  "Persistent Memory (legacy)",
  "0000000000000000-0000000000000000 : ",
  "ffffffffffffffff",
];

function checkRanges(ranges: readonly MemoryRange[], what: string): void {
  for (const r of ranges) {
    checkInteger(r.start, `${what} start`);
    checkInteger(r.end, `${what} end`, 1, 2 ** 53);
    check(r.end > r.start, `${what} [0x${r.start.toString(16)}, 0x${r.end.toString(16)}) is empty`);
  }
  for (let i = 1; i < ranges.length; i++) {
    check(ranges[i - 1].start <= ranges[i].start, `${what} not sorted`);
  }
}

function walk(nodes: readonly IomemNode[], visit: (n: IomemNode) => void): void {
  for (const n of nodes) {
    visit(n);
    walk(n.children, visit);
  }
}

/** parseIomem, iomemMemoryMap and findIomem on /proc/iomem text, and the --dry-run map of it. */
export const iomemTarget = defineTarget<string>({
  name: "iomem",
  entry: "lib/memory/iomem.ts parseIomem (+ iomemMemoryMap, findIomem, the --dry-run map)",
  seeds: iomemTexts,
  mutate: (rng, seed, seeds) => mutateText(rng, seed, IOMEM_TOKENS, seeds),
  run(text) {
    const tree = parseIomem(text, "fuzz-iomem");
    const all: MemoryRange[] = [];
    walk(tree, (n) => {
      check(typeof n.name === "string" && !n.name.includes("\n"), "name with a newline");
      all.push({ start: n.start, end: n.end, kind: "ram" });
    });
    checkRanges(all.toSorted((a, b) => a.start - b.start), "iomem node");
    checkRanges(iomemMemoryMap(tree), "iomem memory map");
    for (const n of findIomem(tree, "Crash kernel")) check(n.name === "Crash kernel", "findIomem");
    const layout = layoutFromIomem(tree);
    const drawing = drawMemoryPicture({ ...layout, segments: [], notes: [] });
    for (const line of drawing) check(line.length <= 80, `map line wider than 80: ${line}`);
    check(drawing.length > layout.regions.length + layout.areas.length, "a row per range");
  },
});

/** parseFirmwareMemmap on /sys/firmware/memmap/N/{start,end,type} entry lists. */
export const memmapTarget = defineTarget<FirmwareMemmapEntry[]>({
  name: "memmap",
  entry: "lib/memory/memmap.ts parseFirmwareMemmap",
  seeds: memmapEntryLists,
  mutate(rng, seed, seeds) {
    const entries = seed.map((e) => ({ ...e }));
    for (let n = rng.count(4); n > 0; n--) {
      const i = rng.int(entries.length);
      const choice = rng.int(5);
      if (choice === 0) entries.splice(i, 1);
      else if (choice === 1 && entries[i]) entries.splice(i, 0, { ...entries[i] });
      else if (choice === 2) entries.push({ ...rng.pick(rng.pick(seeds)) });
      else if (entries[i]) {
        const field = rng.pick(["start", "end", "type"] as const);
        entries[i][field] = field === "type"
          ? mutateText(rng, entries[i].type, ["System RAM", "Reserved", "\n"], [])
          : mutateNumberText(rng, entries[i][field]);
      }
    }
    return entries;
  },
  run(entries) {
    checkRanges(parseFirmwareMemmap(entries), "firmware memmap");
  },
});

/** parseHexAddress on the numbers those files hold. */
export const hexAddressTarget = defineTarget<string>({
  name: "hex_address",
  entry: "lib/memory/memmap.ts parseHexAddress",
  seeds: () => [
    ...memmapEntryLists().flat().flatMap((e) => [e.start, e.end]),
    ...INTERESTING_NUMBERS,
    "0x9fbff\n",
  ],
  mutate: (rng, seed, seeds) => mutateText(rng, seed, ["0x", "0X", " ", "\n", "f"], seeds),
  run(text) {
    const value = parseHexAddress(text, "fuzz address");
    checkInteger(value, "address");
    const digits = text.trim().replace(/^0x/i, "");
    check(BigInt(`0x${digits}`) === BigInt(value), `'${text}' read as ${value}`);
  },
});

/** One /sys/firmware/memmap/NAME directory; a missing file is undefined. */
interface MemmapDir {
  name: string;
  start?: string;
  end?: string;
  type?: string;
}

/** What readMemoryMap finds on a machine: the memmap directories and /proc/iomem. */
export interface MemorySourceInput {
  memmap?: MemmapDir[];
  iomem?: string;
}

function memorySystem(input: MemorySourceInput): System {
  const dirs = new Map((input.memmap ?? []).map((d) => [d.name, d]));
  const fs = {
    listDir: (path: string) =>
      path === PATHS.firmwareMemmap && input.memmap ? input.memmap.map((d) => d.name) : undefined,
    readText: (path: string) => {
      if (path === PATHS.procIomem) return input.iomem;
      const m = /^\/sys\/firmware\/memmap\/([^/]+)\/(start|end|type)$/.exec(path);
      return m ? dirs.get(m[1])?.[m[2] as "start" | "end" | "type"] : undefined;
    },
  };
  return fs as unknown as System;
}

/** readMemoryMap: firmware memmap directories first, /proc/iomem as the fallback. */
export const memorySourceTarget = defineTarget<MemorySourceInput>({
  name: "memory_source",
  entry: "lib/memory/source.ts readMemoryMap",
  seeds: () => {
    const lists = memmapEntryLists();
    const iomems = iomemTexts();
    return lists.map((entries, i) => ({
      memmap: entries.map((e, n) => ({ name: String(n), ...e })),
      iomem: iomems[i],
    }));
  },
  mutate(rng, seed, seeds) {
    const memmap = seed.memmap?.map((d) => ({ ...d }));
    switch (rng.int(6)) {
      case 0:
        return { ...seed, memmap: undefined };
      case 1:
        return { ...seed, iomem: undefined };
      case 2:
        return { ...seed, iomem: mutateText(rng, seed.iomem ?? "", IOMEM_TOKENS, iomemTexts()) };
      case 3: {
        if (!memmap || memmap.length === 0) return seed;
        const d = memmap[rng.int(memmap.length)];
        d.name = rng.pick([d.name, "x", "01", "-1", "99999999999999999999", ""]);
        return { ...seed, memmap };
      }
      default: {
        if (!memmap || memmap.length === 0) return { ...seed, memmap: rng.pick(seeds).memmap };
        const d = memmap[rng.int(memmap.length)];
        const field = rng.pick(["start", "end", "type"] as const);
        d[field] = rng.chance(0.1)
          ? undefined
          : field === "type"
          ? mutateText(rng, d.type ?? "", ["System RAM", "Reserved", "\n"], [])
          : mutateNumberText(rng, d[field] ?? "0");
        return { ...seed, memmap };
      }
    }
  },
  run(input) {
    const map = readMemoryMap(memorySystem(input));
    checkRanges(map.ranges, "memory map");
    check(map.ranges.some((r) => r.kind === "ram"), "a memory map without RAM accepted");
  },
});
