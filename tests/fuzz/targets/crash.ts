/**
 * The crash-load parsers (lib/crash/): CPU lists, crash_notes, VMCOREINFO,
 * /proc/kallsyms, /proc/kcore headers, crash regions in /proc/iomem, and a
 * whole crash planning run (readCrashSources over fuzzed files, then
 * planCrashBzImage64) per input.
 *
 * @module
 */

import { sha256 } from "../../../lib/plan/sha256.ts";
import { PATHS } from "../../../lib/abi.ts";
import { parseIomem } from "../../../lib/memory/iomem.ts";
import { pageOffsetFromKcore } from "../../../lib/crash/kernel_layout.ts";
import { dumpRamRanges, LOW_MEMORY } from "../../../lib/crash/dump_ranges.ts";
import { crashKernelMemoryMap } from "../../../lib/crash/memory_map.ts";
import { planCrashBzImage64, X86_64_KERNEL_LAYOUT } from "../../../lib/arch/x86_64/crash.ts";
import { findCrashRegions } from "../../../lib/crash/region.ts";
import {
  kcoreHeaderLength,
  parseCpuList,
  parseCrashNotesAddress,
  parseCrashNotesSize,
  parseKallsyms,
  parseKcoreLoads,
  parseVmcoreinfo,
  readCrashSources,
} from "../../../lib/crash/sources.ts";
import { validateSegmentPlan } from "../../../lib/plan/validate.ts";
import type { System } from "../../../lib/sys/system.ts";
import { crashFiles, kcoreHeader } from "../../support/crash_machine.ts";
import { mutateBytes } from "../mutate_bytes.ts";
import { mutateText } from "../mutate_text.ts";
import type { Rng } from "../rng.ts";
import { bzImageSeeds, iomemTexts, seedText } from "../seeds.ts";
import { check, checkInteger, defineTarget, refuseOrFail } from "../target.ts";
import { BZIMAGE_SHAPE, elfShape } from "./shapes.ts";

const TWO_64 = 1n << 64n;
const HEX_TOKENS = ["0x", " ", "\n", "-", ",", "f", "0"];

function textTarget<T>(
  name: string,
  entry: string,
  seeds: string[],
  tokens: string[],
  run: (text: string) => T,
  checkResult: (result: T) => void,
) {
  return defineTarget<string>({
    name,
    entry,
    seeds: () => seeds,
    mutate: (rng, seed, all) => mutateText(rng, seed, tokens, all),
    run: (text) => checkResult(run(text)),
  });
}

/** parseCpuList on /sys/devices/system/cpu/possible. */
export const cpuListTarget = textTarget(
  "cpu_list",
  "lib/crash/source_text.ts parseCpuList",
  ["0-1\n", "0\n", "0-3,8\n", "0-255\n", "0,2-5,7\n", ""],
  [",", "-", "\n", " ", "4095", "4294967295"],
  (text) => parseCpuList(text, "fuzz-possible"),
  (cpus) => {
    cpus.forEach((cpu, i) => {
      checkInteger(cpu, "cpu");
      check(i === 0 || cpus[i - 1] < cpu, "cpus not strictly ascending");
    });
  },
);

/** parseCrashNotesAddress and parseCrashNotesSize on cpuN/crash_notes{,_size}. */
export const crashNotesTarget = textTarget(
  "crash_notes",
  "lib/crash/source_text.ts parseCrashNotesAddress/parseCrashNotesSize",
  ["7fc1f458\n", "432\n", "0x000000013fc1f458\n", "1024\n"],
  HEX_TOKENS,
  (text) => {
    let address: number | undefined;
    let size: number | undefined;
    let refusal: unknown;
    try {
      address = parseCrashNotesAddress(text, "fuzz-crash_notes");
    } catch (e) {
      refusal = e;
    }
    try {
      size = parseCrashNotesSize(text, "fuzz-crash_notes_size");
    } catch (e) {
      refusal = e;
    }
    if (address !== undefined) checkInteger(address, "crash_notes address");
    if (size !== undefined) checkInteger(size, "crash_notes_size", 1);
    if (refusal !== undefined) throw refusal;
  },
  () => {},
);

/** parseVmcoreinfo on /sys/kernel/vmcoreinfo. */
export const vmcoreinfoTarget = textTarget(
  "vmcoreinfo",
  "lib/crash/source_text.ts parseVmcoreinfo",
  ["0x0000000100c66000 1024\n", "2c4a000 1024\n", "0x0000000002c4a000 1024\n"],
  HEX_TOKENS,
  (text) => parseVmcoreinfo(text, "fuzz-vmcoreinfo"),
  (note) => {
    checkInteger(note.address, "VMCOREINFO address");
    checkInteger(note.size, "VMCOREINFO size", 1);
  },
);

const KALLSYMS = [
  crashFiles()[PATHS.kallsyms] as string,
  "ffffffff81000000 T _stext\nffffffff81000000 T _text\nffffffff81001000 T xen_hypercall\n" +
  "ffffffff82e00000 D _end\nffffffffc0350010 t virtnet_poll\t[virtio_net]\n",
  "0000000000000000 T _text\n0000000000000000 T _stext\n0000000000000000 B _end\n",
];

/** parseKallsyms on /proc/kallsyms. */
export const kallsymsTarget = textTarget(
  "kallsyms",
  "lib/crash/source_text.ts parseKallsyms",
  KALLSYMS,
  [" T ", " t ", " B ", "_text", "_stext", "_end", "\t[", "ffffffff", "\n"],
  (text) => parseKallsyms(text),
  (symbols) => {
    for (const value of [symbols.text, symbols.stext, symbols.end]) {
      check(value === undefined || (value > 0n && value < TWO_64), `symbol value ${value}`);
    }
  },
);

/** kcoreHeaderLength, parseKcoreLoads and the PAGE_OFFSET derived from them. */
export const kcoreTarget = defineTarget<Uint8Array>({
  name: "kcore_header",
  entry: "lib/crash/kcore_headers.ts kcoreHeaderLength/parseKcoreLoads (+ pageOffsetFromKcore)",
  seeds: () => [
    kcoreHeader(),
    kcoreHeader([]),
    kcoreHeader([{ vaddr: 0xffff888000000000n, paddr: 0n, memsz: 0x80000000n }]),
  ],
  mutate: (rng, seed, seeds) => {
    const shape = elfShape(seed);
    const paddrs = shape.fields.filter((f) => f.size === 8).map((f) => ({
      offset: f.offset + 8,
      size: 8 as const,
    }));
    return mutateBytes(rng, seed, { ...shape, fields: [...shape.fields, ...paddrs] }, seeds);
  },
  run(bytes) {
    const needed = kcoreHeaderLength(bytes);
    if (needed !== undefined) checkInteger(needed, "header length", 0, 2 ** 70);
    const loads = parseKcoreLoads(bytes, "fuzz-kcore");
    for (const l of loads) {
      check(l.vaddr >= 0n && l.vaddr < TWO_64 && l.memsz < TWO_64, "load field out of u64");
    }
    const pageOffset = pageOffsetFromKcore(loads, X86_64_KERNEL_LAYOUT).value;
    check(pageOffset >= 0n && pageOffset < TWO_64, `PAGE_OFFSET ${pageOffset} is not a u64`);
  },
});

/** findCrashRegions, dumpRamRanges and crashKernelMemoryMap on /proc/iomem text. */
export const crashRegionsTarget = defineTarget<string>({
  name: "crash_regions",
  entry: "lib/crash/region.ts findCrashRegions (+ dumpRamRanges, crashKernelMemoryMap)",
  seeds: () => [crashFiles()[PATHS.procIomem] as string, ...iomemTexts()],
  mutate: (rng, seed, seeds) =>
    mutateText(rng, seed, ["  ", " : ", "Crash kernel", "System RAM", "ACPI Tables"], seeds),
  run(text) {
    const iomem = parseIomem(text, "fuzz-iomem");
    const regions = findCrashRegions(iomem);
    const crash = [regions.main, ...(regions.low ? [regions.low] : [])];
    for (const r of crash) check(r.end > r.start, "empty crash region");
    const holes = [LOW_MEMORY, ...crash];
    const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) =>
      a.start < b.end && b.start < a.end;
    for (const r of dumpRamRanges(iomem, regions)) {
      check(r.end > r.start, "empty dump range");
      check(!holes.some((h) => overlaps(r, h)), "dump range overlaps a hole");
    }
    const map = crashKernelMemoryMap(iomem, regions);
    for (const r of map) {
      check(r.end > r.start, "empty range in the crash kernel's map");
      if (r.kind !== "ram") continue;
      const inside = [LOW_MEMORY, ...crash].some((h) => r.start >= h.start && r.end <= h.end);
      check(inside, `crash kernel RAM [${r.start}, ${r.end}) outside low memory and regions`);
    }
  },
});

/** A file of the fake machine: text, bytes, or absent. */
type CrashFile = string | Uint8Array | undefined;

/** Files of a crash machine, fuzzed, and the kernel to load. */
export interface CrashPlanInput {
  files: Record<string, CrashFile>;
  kernel: Uint8Array;
}

function crashMachineFiles(): Record<string, CrashFile> {
  return Object.fromEntries(
    Object.entries(crashFiles()).filter(([, f]) =>
      typeof f === "string" || f instanceof Uint8Array
    ),
  ) as Record<string, CrashFile>;
}

// The System calls readCrashSources makes, answered from `files`.
function fakeSystem(files: Record<string, CrashFile>): System {
  const fs = {
    readText: (path: string) => {
      const f = files[path];
      return typeof f === "string" ? f : f === undefined ? undefined : new TextDecoder().decode(f);
    },
    readBytes: (path: string, max: number) => {
      const f = files[path];
      if (f === undefined) return undefined;
      return (typeof f === "string" ? new TextEncoder().encode(f) : f).subarray(0, max);
    },
    listDir: (path: string) => {
      const prefix = `${path}/`;
      const names = Object.keys(files).filter((p) => p.startsWith(prefix))
        .map((p) => p.slice(prefix.length).split("/")[0]);
      return names.length ? [...new Set(names)] : undefined;
    },
  };
  return fs as unknown as System;
}

function mutateFiles(rng: Rng, files: Record<string, CrashFile>): Record<string, CrashFile> {
  const out = { ...files };
  const keys = Object.keys(out);
  const key = rng.pick(keys);
  const file = out[key];
  switch (rng.int(8)) {
    case 0:
      out[key] = undefined;
      break;
    case 1: {
      const cpu = rng.pick([2, 3, 63, 4095]);
      const dir = `/sys/devices/system/cpu/cpu${cpu}`;
      out[`${dir}/crash_notes`] = rng.pick(["7fd1f458\n", "0\n", "ffffffffffffffff\n"]);
      out[`${dir}/crash_notes_size`] = rng.pick(["432\n", "0\n", "99999999999\n"]);
      break;
    }
    default:
      if (file instanceof Uint8Array) {
        out[key] = mutateBytes(rng, file, elfShape(kcoreHeader()), []);
      } else if (file !== undefined) {
        out[key] = mutateText(rng, file, [" : ", "Crash kernel", "0-", ",", "\n"], [
          seedText("iomem-host.txt"),
        ]);
      }
  }
  return out;
}

/** readCrashSources then planCrashBzImage64: a whole crash planning run per input. */
export const crashPlanTarget = defineTarget<CrashPlanInput>({
  name: "crash_plan",
  entry: "lib/crash/sources.ts readCrashSources + lib/arch/x86_64/crash.ts planCrashBzImage64",
  seeds: () => {
    const files = crashMachineFiles();
    const [, fitted, small, synthetic] = bzImageSeeds();
    return [fitted, small, synthetic].map((kernel) => ({ files, kernel }));
  },
  mutate(rng, seed, seeds) {
    if (rng.chance(0.3)) {
      const kernels = seeds.map((s) => s.kernel);
      return { ...seed, kernel: mutateBytes(rng, seed.kernel, BZIMAGE_SHAPE, kernels) };
    }
    let files = seed.files;
    for (let n = rng.count(3); n > 0; n--) files = mutateFiles(rng, files);
    return { ...seed, files };
  },
  run(input) {
    const sources = readCrashSources(fakeSystem(input.files));
    const plan = planCrashBzImage64({
      kernel: input.kernel,
      kernelPath: "fuzz.bzImage",
      initrd: null,
      cmdline: "irqpoll nr_cpus=1 reset_devices",
      sources,
      rngSeed: new Uint8Array(32),
      verify: sha256,
      pageSize: 4096,
    });
    try {
      validateSegmentPlan(plan, {
        pageSize: 4096,
        crashRegion: plan.crashRegion,
        ramBytes: plan.ramBytes,
      });
    } catch (e) {
      refuseOrFail(e, "crash plan");
    }
    const main = findCrashRegions(sources.iomem).main;
    check(plan.crashRegion?.start === main.start, "plan's crash region is not the main one");
    check(plan.cmdline.includes("elfcorehdr="), "no elfcorehdr= on the crash command line");
  },
});
