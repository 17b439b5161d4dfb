/**
 * A whole x86_64 kexec_load planning run per input: mutated kernel bytes,
 * memory maps, command line, initrd size, --mem-min/--mem-max, crash region,
 * running boot_params and RSDP. An accepted plan must pass the kernel's own
 * segment checks (lib/plan/validate.ts) and the planner's placement promises.
 *
 * @module
 */

import { sha256 } from "../../../lib/plan/sha256.ts";
import { KEXEC_ON_CRASH, KEXEC_PRESERVE_CONTEXT } from "../../../lib/abi.ts";
import {
  type ExtraSegmentsHook,
  planBzImage64,
  RNG_SEED_SIZE,
} from "../../../lib/arch/x86_64/bzimage.ts";
import { parseSetupHeader, XLF } from "../../../lib/arch/x86_64/setup_header.ts";
import { PURGATORY_KJUMP_ENTRY, PURGATORY_KJUMP_ROOM } from "../../../lib/arch/x86_64/purgatory.ts";
import {
  PURGATORY_KJUMP_CMDLINE_END_OFFSET,
  PURGATORY_STACK_PAGE_OFFSET,
} from "../../../lib/arch/x86_64/purgatory_blob.ts";
import { ramRanges, totalBytes } from "../../../lib/memory/memmap.ts";
import type { MemoryKind, MemoryRange } from "../../../lib/memory/types.ts";
import { validateSegmentPlan } from "../../../lib/plan/validate.ts";
import { mutateBytes } from "../mutate_bytes.ts";
import { mutateText } from "../mutate_text.ts";
import type { Rng } from "../rng.ts";
import { bzImageSeeds, memoryMaps, seedBytes, seedText } from "../seeds.ts";
import { check, defineTarget, refuseOrFail } from "../target.ts";
import { BZIMAGE_SHAPE } from "./shapes.ts";

/** One planning run. */
export interface PlanInput {
  kernel: Uint8Array;
  map: MemoryRange[];
  cmdline: string;
  initrd: Uint8Array | null;
  memMin?: number;
  memMax?: number;
  /** Crash load: segments restricted to [crashStart, crashEnd), plus an elfcorehdr. */
  crash?: { start: number; end: number };
  preserveContext: boolean;
  verify: boolean;
  fiveLevel: boolean;
  running?: Uint8Array;
  acpiRsdpAddr?: number;
}

const PAGE = 4096;
const MiB = 0x100000;
const FOUR_GiB = 2 ** 32;
const KINDS: readonly MemoryKind[] = [
  "ram",
  "reserved",
  "acpi",
  "nvs",
  "unusable",
  "pmem",
  "pram",
  "soft-reserved",
];
const ADDRESSES = [
  0,
  1,
  0xfff,
  PAGE,
  0x9fc00,
  MiB - 1,
  MiB,
  MiB + PAGE,
  0x1000000,
  0x35000000,
  0x7fffffff,
  FOUR_GiB - PAGE,
  FOUR_GiB - 1,
  FOUR_GiB,
  FOUR_GiB + PAGE,
  2 ** 40,
  2 ** 52,
  Number.MAX_SAFE_INTEGER - PAGE,
  Number.MAX_SAFE_INTEGER,
];

function address(rng: Rng, near?: number): number {
  if (near !== undefined && rng.chance(0.5)) {
    const v = near + rng.pick([-PAGE, -1, 1, PAGE, rng.range(-MiB, MiB)]);
    return Math.min(Math.max(v, 0), Number.MAX_SAFE_INTEGER);
  }
  return rng.pick(ADDRESSES);
}

// Maps as the parsers can produce them: safe integers, an end above its start
// (it may reach 2^53, one past the last address), in any order, overlapping.
function mutateMap(rng: Rng, map: readonly MemoryRange[], maps: readonly MemoryRange[][]) {
  const out = map.map((r) => ({ ...r }));
  for (let n = rng.count(4); n > 0; n--) {
    const i = rng.int(out.length);
    switch (rng.int(7)) {
      case 0:
        if (out[i]) out[i].start = address(rng, out[i].start);
        break;
      case 1:
        if (out[i]) out[i].end = Math.min(address(rng, out[i].end), 2 ** 53);
        break;
      case 2:
        if (out[i]) out[i].kind = rng.pick(KINDS);
        break;
      case 3:
        out.splice(i, 1);
        break;
      case 4:
        if (out[i]) out.splice(i, 0, { ...out[i] });
        break;
      case 5: {
        const start = address(rng);
        out.push({ start, end: address(rng, start + rng.range(1, 0x4000000)), kind: "ram" });
        break;
      }
      default:
        out.push(...rng.pick(maps).slice(0, rng.int(8)).map((r) => ({ ...r })));
    }
  }
  if (rng.chance(0.02)) return [];
  // Both parsers refuse an end below its start.
  for (const r of out) if (r.end <= r.start) r.end = Math.min(r.start + PAGE, 2 ** 53);
  return out;
}

function mutateScalars(rng: Rng, input: PlanInput): PlanInput {
  const out = { ...input };
  switch (rng.int(8)) {
    case 0:
      out.memMin = rng.chance(0.3) ? undefined : address(rng);
      break;
    case 1:
      out.memMax = rng.chance(0.3) ? undefined : address(rng);
      break;
    case 2: {
      const start = address(rng, 0x35000000);
      out.crash = rng.chance(0.2) ? undefined : {
        start,
        end: rng.chance(0.5)
          ? Math.min(start + rng.pick([PAGE, MiB, 0x8000000]), Number.MAX_SAFE_INTEGER)
          : address(rng, start),
      };
      break;
    }
    case 3:
      out.initrd = rng.chance(0.2) ? null : new Uint8Array(rng.pick([0, 1, 4095, 4096, 0x10001]));
      break;
    case 4:
      out.preserveContext = !out.preserveContext;
      out.verify = rng.chance(0.5);
      out.fiveLevel = rng.chance(0.3);
      break;
    case 5:
      out.acpiRsdpAddr = rng.chance(0.5) ? undefined : address(rng);
      break;
    case 6:
      if (out.running) {
        out.running = rng.chance(0.2) ? undefined : mutateBytes(rng, out.running, {
          fields: [
            { offset: 0x70, size: 8 }, // acpi_rsdp_addr
            { offset: 0x23c, size: 4 }, // hardware_subarch
            { offset: 0x1ec, size: 1 }, // secure_boot
          ],
          boundaries: [4095, 4096],
        }, []);
      }
      break;
    default:
      out.cmdline = mutateText(rng, out.cmdline, ["elfcorehdr=", "x".repeat(300), "\0"], [
        seedText("cmdline-host.txt"),
      ]);
  }
  return out;
}

function planSeeds(): PlanInput[] {
  const kernels = bzImageSeeds();
  const maps = memoryMaps();
  const running = seedBytes("boot_params-host.bin");
  const cmdline = "console=ttyS0 root=/dev/vda quiet";
  const seeds: PlanInput[] = [];
  for (const [k, kernel] of kernels.entries()) {
    for (const [m, map] of maps.entries()) {
      seeds.push({
        kernel,
        map,
        cmdline,
        initrd: (k + m) % 2 ? new Uint8Array(0x1234) : null,
        preserveContext: false,
        verify: true,
        fiveLevel: false,
        running,
        crash: m === 0 ? { start: 0x35000000, end: 0x3d000000 } : undefined,
      });
    }
  }
  return seeds;
}

// What a crash load adds: an elfcorehdr segment and its address on the command line.
function elfcorehdrHook(input: PlanInput): ExtraSegmentsHook | undefined {
  if (!input.crash) return undefined;
  return (place) => {
    const segment = place({ name: "elfcorehdr", buf: new Uint8Array(PAGE), unverified: true });
    return { cmdline: `${input.cmdline} elfcorehdr=${Math.floor(segment.mem / 1024)}K` };
  };
}

function checkPlan(input: PlanInput, plan: ReturnType<typeof planBzImage64>): void {
  const crashRegion = input.crash;
  try {
    validateSegmentPlan(plan, {
      pageSize: PAGE,
      ramBytes: crashRegion ? undefined : totalBytes(input.map, "ram"),
      crashRegion,
    });
  } catch (e) {
    refuseOrFail(e, "plan");
  }
  const header = parseSetupHeader(input.kernel, "fuzz.bzImage");
  const ram = ramRanges(crashRegion ? [{ ...crashRegion, kind: "ram" }] : input.map);
  const byName = new Map(plan.segments.map((s) => [s.name, s]));
  for (const s of plan.segments) {
    const end = s.mem + s.memsz;
    check(Number.isSafeInteger(s.mem) && Number.isSafeInteger(end), `${s.name} address unsafe`);
    check(ram.some((r) => s.mem >= r.start && end <= r.end), `${s.name} is not inside RAM`);
    check(s.mem >= MiB, `${s.name} at 0x${s.mem.toString(16)} is below 1 MiB`);
    if (input.memMin !== undefined) check(s.mem >= input.memMin, `${s.name} below --mem-min`);
    if (input.memMax !== undefined) check(end - 1 <= input.memMax, `${s.name} above --mem-max`);
  }
  // Below 4 GiB and initrd_addr_max, unless only the kernel's
  // XLF_CAN_BE_LOADED_ABOVE_4G let them go higher.
  const canGoAbove4G = (header.xloadflags & XLF.CAN_BE_LOADED_ABOVE_4G) !== 0;
  for (const name of ["boot_params", "purgatory"]) {
    const s = byName.get(name);
    check(s, `no ${name} segment`);
    check(canGoAbove4G || s.mem + s.memsz <= FOUR_GiB, `${name} above 4 GiB`);
  }
  const kernel = byName.get("kernel");
  check(kernel, "no kernel segment");
  if (header.relocatableKernel) {
    check(kernel.mem % header.kernelAlignment === 0, "relocatable kernel misaligned");
  } else {
    // It runs where it was linked: anywhere else it would crash at boot.
    check(kernel.mem === header.prefAddress, "non-relocatable kernel not at pref_address");
  }
  check(kernel.memsz >= header.initSize, "kernel memsz does not cover init_size");
  if (!canGoAbove4G) {
    check(kernel.mem + kernel.memsz <= FOUR_GiB, "kernel above 4 GiB without XLF flag");
  }
  const initrd = byName.get("initrd");
  if (initrd && !canGoAbove4G) {
    check(initrd.mem + initrd.buf.length - 1 <= header.initrdAddrMax, "initrd above its max");
  }
  const purgatory = byName.get("purgatory")!;
  if (!input.preserveContext) {
    check(plan.entry === purgatory.mem, "entry is not the purgatory");
    return;
  }
  // Kexec jump: the page's kexec-jump entry, and room for the parameter at
  // the command line's NUL, inside boot_params' bytes (which are verified).
  check(plan.entry === purgatory.mem + PURGATORY_KJUMP_ENTRY, "entry is not the kjump entry");
  const slot = (at: number) =>
    Number(new DataView(purgatory.buf.buffer, purgatory.buf.byteOffset).getBigUint64(at, true));
  const params = byName.get("boot_params")!;
  const nul = slot(PURGATORY_KJUMP_CMDLINE_END_OFFSET) - params.mem;
  check(nul > 0 && nul + PURGATORY_KJUMP_ROOM <= params.buf.length, "no room at cmdline_end");
  check(
    params.buf.subarray(nul, nul + PURGATORY_KJUMP_ROOM).every((b) => b === 0),
    "room not zero",
  );
  check(slot(PURGATORY_STACK_PAGE_OFFSET) !== 0, "kjump page without a stack page");
}

/** planBzImage64: one complete planning run per input. */
export const bzImagePlanTarget = defineTarget<PlanInput>({
  name: "bzimage_plan",
  entry: "lib/arch/x86_64/bzimage.ts planBzImage64",
  seeds: planSeeds,
  mutate(rng, seed, seeds) {
    const choice = rng.int(10);
    if (choice < 6) {
      const kernels = [...new Set(seeds.map((s) => s.kernel))];
      return { ...seed, kernel: mutateBytes(rng, seed.kernel, BZIMAGE_SHAPE, kernels) };
    }
    if (choice < 8) {
      return { ...seed, map: mutateMap(rng, seed.map, [...new Set(seeds.map((s) => s.map))]) };
    }
    return mutateScalars(rng, seed);
  },
  run(input) {
    const plan = planBzImage64({
      kernel: input.kernel,
      kernelPath: "fuzz.bzImage",
      initrd: input.initrd,
      cmdline: input.cmdline,
      memoryMap: input.map,
      memoryMapSource: "fuzz",
      placeable: input.crash ? [{ ...input.crash, kind: "ram" }] : undefined,
      memMin: input.memMin,
      memMax: input.memMax,
      runningBootParams: input.running,
      acpiRsdpAddr: input.acpiRsdpAddr,
      fiveLevelPaging: input.fiveLevel,
      rngSeed: new Uint8Array(RNG_SEED_SIZE),
      verify: input.verify ? sha256 : undefined,
      pageSize: PAGE,
      flags: (input.crash ? KEXEC_ON_CRASH : 0) |
        (input.preserveContext ? KEXEC_PRESERVE_CONTEXT : 0),
      extraSegments: elfcorehdrHook(input),
    });
    checkPlan(input, plan);
  },
});
