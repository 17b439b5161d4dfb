/**
 * Targets for the Multiboot code of x86_64: the header parsers and kernel
 * layout (both versions, ELF32/ELF64 and address fields), the boot
 * information builders, and the whole planner. Mutated headers get their
 * checksums repaired most of the time, so the parsers behind the checksum
 * see the mutations too.
 *
 * @module
 */

import { sha256 } from "../../../lib/plan/sha256.ts";
import { readMultibootKernel } from "../../../lib/arch/x86_64/multiboot/plan.ts";
import { planMultiboot } from "../../../lib/arch/x86_64/multiboot/plan.ts";
import {
  buildMultiboot1Info,
  multiboot1InfoSize,
  type MultibootModuleInfo,
} from "../../../lib/arch/x86_64/multiboot/info1.ts";
import {
  buildMultiboot2Info,
  type EfiSystemTable,
  multiboot2InfoSize,
} from "../../../lib/arch/x86_64/multiboot/info2.ts";
import type { E820Entry } from "../../../lib/arch/x86_64/e820.ts";
import { ramRanges } from "../../../lib/memory/memmap.ts";
import type { MemoryRange } from "../../../lib/memory/types.ts";
import { validateSegmentPlan } from "../../../lib/plan/validate.ts";
import type { ByteField, ByteShape } from "../mutate_bytes.ts";
import { mutateBytes } from "../mutate_bytes.ts";
import { mutateText } from "../mutate_text.ts";
import type { Rng } from "../rng.ts";
import { memoryMaps } from "../seeds.ts";
import { check, checkInteger, defineTarget, refuseOrFail } from "../target.ts";
import {
  elfKernel,
  flatMb1Kernel,
  mb1Header,
  mb2Header,
  pattern,
  xenLikeKernel,
} from "../../fixtures/multiboot.ts";

const MB1_MAGIC = 0x1badb002;
const MB2_MAGIC = 0xe85250d6;
const FOUR_GiB = 2 ** 32;

/** Kernels to start from: flat, ELF32 with both headers, ELF64 higher half, two PT_LOADs. */
function kernelSeeds(): Uint8Array[] {
  return [
    flatMb1Kernel(),
    xenLikeKernel(),
    elfKernel({
      bits: 64,
      entry: 0xffffffff80100040n,
      loads: [{ paddr: 0x100000, vaddr: 0xffffffff80100000n, data: pattern(0x800), memsz: 0x4000 }],
      headers: [mb2Header([{ type: 1, fields: [1, 2, 3, 4, 6, 12, 21] }, { type: 6 }])],
    }),
    elfKernel({
      bits: 32,
      entry: 0x100800,
      loads: [
        { paddr: 0x100000, data: pattern(0x900) },
        { paddr: 0x100a00, data: pattern(0x10, 5), memsz: 0x2000 },
      ],
      headers: [
        mb1Header(0x3),
        mb2Header([
          { type: 2, fields: [0x100100, 0x100000, 0, 0x104000] },
          { type: 3, fields: [0x100800] },
        ]),
      ],
    }),
  ];
}

const u32 = (b: Uint8Array, at: number) =>
  (b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24) >>> 0;

function setU32(b: Uint8Array, at: number, value: number): void {
  for (let i = 0; i < 4; i++) b[at + i] = (value >>> (8 * i)) & 0xff;
}

/** Offsets of every Multiboot and Multiboot2 magic in the search windows. */
function headerOffsets(b: Uint8Array): { v1: number[]; v2: number[] } {
  const v1: number[] = [];
  const v2: number[] = [];
  for (let at = 0; at + 16 <= Math.min(b.length, 32768); at += 4) {
    if (at < 8192 && u32(b, at) === MB1_MAGIC) v1.push(at);
    if (at % 8 === 0 && u32(b, at) === MB2_MAGIC) v2.push(at);
  }
  return { v1, v2 };
}

/** Rewrites the checksums of every header so they validate again. */
function repairChecksums(bytes: Uint8Array): Uint8Array {
  const b = bytes.slice();
  const { v1, v2 } = headerOffsets(b);
  for (const at of v1) setU32(b, at + 8, -(MB1_MAGIC + u32(b, at + 4)) >>> 0);
  for (const at of v2) {
    setU32(b, at + 12, -(MB2_MAGIC + u32(b, at + 4) + u32(b, at + 8)) >>> 0);
  }
  return b;
}

/** Header fields and tag words of the seed, and ELF header/program header fields. */
function kernelShape(seed: Uint8Array): ByteShape {
  const fields: ByteField[] = [];
  const { v1, v2 } = headerOffsets(seed);
  for (const at of v1) for (let o = 4; o < 32; o += 4) fields.push({ offset: at + o, size: 4 });
  for (const at of v2) {
    const end = Math.min(at + u32(seed, at + 8), seed.length - 4);
    for (let o = at + 4; o < end; o += 4) fields.push({ offset: o, size: 4 });
    for (let o = at + 16; o + 4 <= end; o += 8) fields.push({ offset: o, size: 2 });
  }
  if (seed[0] === 0x7f && seed[1] === 0x45) {
    for (const o of [0x18, 0x1c, 0x20, 0x2a, 0x2c, 0x36, 0x38]) fields.push({ offset: o, size: 2 });
    for (let o = 0x34; o < 0x100; o += 4) fields.push({ offset: o, size: 4 });
  }
  return {
    fields,
    hotEnd: 0x400,
    dictionary: [mb1Header(0), mb2Header([]), new Uint8Array([0x7f, 0x45, 0x4c, 0x46])],
    maxLength: 0x10000,
  };
}

function mutateKernel(rng: Rng, seed: Uint8Array, seeds: readonly Uint8Array[]): Uint8Array {
  const mutated = mutateBytes(rng, seed, kernelShape(seed), seeds);
  return rng.chance(0.8) ? repairChecksums(mutated) : mutated;
}

/** readMultibootKernel, both versions: the header, its checks and the kernel layout. */
export const multibootHeaderTarget = defineTarget<{ bytes: Uint8Array; version: 1 | 2 }>({
  name: "multiboot_hdr",
  entry: "lib/arch/x86_64/multiboot/kernel.ts readMultibootKernel (header1/2, elf, image)",
  seeds: () => kernelSeeds().flatMap((bytes) => [{ bytes, version: 1 }, { bytes, version: 2 }]),
  mutate: (rng, seed, seeds) => ({
    bytes: mutateKernel(rng, seed.bytes, seeds.map((s) => s.bytes)),
    version: rng.chance(0.1) ? (3 - seed.version) as 1 | 2 : seed.version,
  }),
  run({ bytes, version }) {
    const facts = readMultibootKernel(bytes, "fuzz.kernel", version, true);
    const { pieces, entry, start, end } = facts.layout;
    check(pieces.length > 0, "no pieces");
    checkInteger(end, "end", 0, FOUR_GiB);
    check(start < end && start === pieces[0].paddr, "start is not the first piece");
    for (const [i, p] of pieces.entries()) {
      checkInteger(p.paddr, `piece ${i} paddr`);
      check(p.bytes.length <= p.memsz, `piece ${i} has more bytes than memsz`);
      check(p.bytes.buffer === bytes.buffer, `piece ${i} is not a view of the image`);
      check(p.paddr + p.memsz <= end, `piece ${i} ends past the layout`);
      if (i > 0) {
        const prev = pieces[i - 1];
        check(prev.paddr + prev.memsz <= p.paddr, `pieces ${i - 1} and ${i} overlap`);
      }
    }
    check(pieces.some((p) => entry >= p.paddr && entry < p.paddr + p.memsz), "entry outside");
  },
});

interface InfoInput {
  version: 1 | 2;
  base: number;
  cmdline: string;
  bootLoaderName: string;
  memory: { lowerKiB: number; upperKiB: number };
  memoryMap: E820Entry[];
  modules: MultibootModuleInfo[];
  efiSystemTable?: EfiSystemTable;
  loadBaseAddr?: number;
}

const STRINGS = ["", "/boot/xen.gz console=com1", 'x="a b" é \u2028', "/m\0x", "a".repeat(1500)];

function infoSeeds(): InfoInput[] {
  const map = [
    { addr: 0, size: 0x9fc00, type: 1 },
    { addr: 0x100000, size: 0x7fee0000, type: 1 },
    { addr: 0xfd00000000, size: 0x300000000, type: 2 },
  ];
  const modules = [{ start: 0x1000000, end: 0x1234567, cmdline: "/boot/vmlinuz root=/dev/sda" }];
  return [1, 2].flatMap((version) => [
    {
      version: version as 1 | 2,
      base: 0x7ffc0000,
      cmdline: STRINGS[1],
      bootLoaderName: "kexec (Deno)",
      memory: { lowerKiB: 639, upperKiB: 2096000 },
      memoryMap: map,
      modules,
    },
    {
      version: version as 1 | 2,
      base: 0x1000,
      cmdline: "",
      bootLoaderName: "",
      memory: { lowerKiB: 0, upperKiB: 0 },
      memoryMap: [],
      modules: [],
      efiSystemTable: { address: 0x7f9e0018, bits: 64 as const },
      loadBaseAddr: 0x200000,
    },
  ]);
}

function mutateInfo(rng: Rng, seed: InfoInput): InfoInput {
  const out: InfoInput = { ...seed, memoryMap: [...seed.memoryMap], modules: [...seed.modules] };
  switch (rng.int(7)) {
    case 0:
      out.cmdline = mutateText(rng, seed.cmdline, STRINGS, STRINGS);
      break;
    case 1:
      out.bootLoaderName = mutateText(rng, seed.bootLoaderName, STRINGS, STRINGS);
      break;
    case 2:
      out.base = rng.pick([0, 4, 8, 0x1000, 0xfffff000, 0xffffffff, FOUR_GiB, rng.int(FOUR_GiB)]);
      break;
    case 3:
      for (let n = rng.count(40); n > 0; n--) {
        out.memoryMap.push({
          addr: rng.pick([0, 0x100000, 2 ** 40, rng.int(FOUR_GiB)]),
          size: rng.pick([1, 0x1000, 2 ** 52, rng.int(FOUR_GiB)]),
          type: rng.pick([1, 2, 3, 4, 5, 7, 12, 0xefffffff]),
        });
      }
      break;
    case 4:
      for (let n = rng.count(20); n > 0; n--) {
        const start = rng.int(FOUR_GiB);
        out.modules.push({
          start,
          end: Math.min(start + rng.int(0x1000000), FOUR_GiB - 1),
          cmdline: mutateText(rng, rng.pick(STRINGS), STRINGS, STRINGS),
        });
      }
      break;
    case 5:
      out.efiSystemTable = rng.chance(0.5)
        ? { address: rng.pick([0, 0x7f9e0018, 2 ** 40]), bits: rng.pick([32, 64] as const) }
        : undefined;
      out.loadBaseAddr = rng.chance(0.5) ? rng.int(FOUR_GiB) : undefined;
      break;
    default:
      out.version = (3 - seed.version) as 1 | 2;
  }
  return out;
}

/** The boot information builders: size agrees, pointers and tags stay inside the buffer. */
export const multibootInfoTarget = defineTarget<InfoInput>({
  name: "multiboot_info",
  entry: "lib/arch/x86_64/multiboot/info1.ts, info2.ts build*Info",
  seeds: infoSeeds,
  mutate: (rng, seed) => mutateInfo(rng, seed),
  run(input) {
    if (input.version === 1) {
      const info = buildMultiboot1Info(input);
      check(info.length === multiboot1InfoSize(input), "size disagrees with the buffer");
      const v = new DataView(info.buffer);
      for (const field of [16, 64, 48]) {
        const p = v.getUint32(field, true) - input.base;
        check(p >= 0 && p < info.length, `pointer at ${field} leaves the buffer`);
      }
      check(input.base + info.length <= FOUR_GiB, "information reaches above 4 GiB");
      return;
    }
    const info = buildMultiboot2Info(input);
    check(info.length === multiboot2InfoSize(input), "size disagrees with the buffer");
    check(input.base % 8 === 0 && input.base + info.length <= FOUR_GiB, "bad base accepted");
    const v = new DataView(info.buffer);
    check(v.getUint32(0, true) === info.length, "total_size");
    let at = 8;
    let tags = 0;
    for (;;) {
      check(at + 8 <= info.length, "tag walk ran off the end");
      const type = v.getUint32(at, true);
      const size = v.getUint32(at + 4, true);
      check(size >= 8 && at + size <= info.length, `tag ${type} size ${size}`);
      tags++;
      if (type === 0) break;
      at += Math.ceil(size / 8) * 8;
    }
    check(at + 8 === info.length, "bytes after the end tag");
    check(
      tags === 6 + input.modules.length - 1 + (input.efiSystemTable ? 1 : 0) +
          (input.loadBaseAddr === undefined ? 0 : 1),
      "tag count",
    );
  },
});

interface PlanInput {
  version: 1 | 2;
  kernel: Uint8Array;
  map: MemoryRange[];
  modules: number[];
  memMin?: number;
  memMax?: number;
  verify: boolean;
}

/** The whole planner: accepted plans must pass the kernel's segment checks. */
export const multibootPlanTarget = defineTarget<PlanInput>({
  name: "multiboot_plan",
  entry: "lib/arch/x86_64/multiboot/plan.ts planMultiboot",
  seeds: () =>
    kernelSeeds().flatMap((kernel, i) =>
      memoryMaps().slice(0, 3).map((map) => ({
        version: (i === 0 ? 1 : 2) as 1 | 2,
        kernel,
        map,
        modules: [0x3456, 1],
        verify: true,
      }))
    ),
  mutate: (rng, seed, seeds) => {
    const out = { ...seed };
    switch (rng.int(5)) {
      case 0:
      case 1:
        out.kernel = mutateKernel(rng, seed.kernel, seeds.map((s) => s.kernel));
        break;
      case 2:
        out.map = rng.pick(seeds).map;
        out.version = rng.pick([1, 2] as const);
        break;
      case 3:
        out.modules = Array.from({ length: rng.count(16) }, () => rng.pick([1, 4096, 0x10000]));
        break;
      default:
        out.memMin = rng.chance(0.5) ? rng.pick([0x100000, 0x1000000, 0x7fe00000]) : undefined;
        out.memMax = rng.chance(0.5) ? rng.pick([0x2000000, 0x7fffffff, FOUR_GiB]) : undefined;
        out.verify = rng.chance(0.7);
    }
    return out;
  },
  run(input) {
    const plan = planMultiboot({
      version: input.version,
      kernel: input.kernel,
      kernelPath: "fuzz.kernel",
      cmdline: "console=com1",
      modules: input.modules.map((n, i) => ({
        path: `/m${i}`,
        cmdline: `/m${i} arg`,
        bytes: pattern(n, i),
      })),
      memoryMap: input.map,
      memMin: input.memMin,
      memMax: input.memMax,
      verify: input.verify ? sha256 : undefined,
      pageSize: 4096,
    });
    try {
      validateSegmentPlan(plan, { pageSize: 4096 });
    } catch (e) {
      refuseOrFail(e, "multiboot plan");
    }
    const ram = ramRanges(input.map);
    for (const s of plan.segments) {
      check(s.mem + s.memsz <= FOUR_GiB, `${s.name} above 4 GiB`);
      check(
        ram.some((r) => s.mem >= r.start && s.mem + s.memsz <= r.end),
        `${s.name} outside RAM`,
      );
    }
    check(plan.segments.find((s) => s.name === "purgatory")?.mem === plan.entry, "entry");
  },
});
