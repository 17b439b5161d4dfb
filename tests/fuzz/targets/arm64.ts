/**
 * The arm64 readers and planners: the Image header and the checks made
 * before any system call, whole kexec_load plans (usable RAM from a fuzzed
 * /proc/iomem, a fuzzed Image header, a fuzzed device tree), whole crash
 * plans over the fuzzed files of a real guest (iomem, /proc/kcore with its
 * VMCOREINFO note, crash notes), and the /proc/kcore note reader. Seeds are
 * what two real guests showed (tests/support/arm64_machine.ts).
 *
 * An accepted plan must pass the kernel's own segment checks, put the kernel
 * at a 2 MiB aligned base + text_offset with nothing below it, the device
 * tree in a 2 MiB block of its own with the command line and initrd it was
 * given, and (crash) every segment in the region, the core header's RAM at
 * linear-map addresses in the kernel half, outside the crash regions.
 *
 * @module
 */

import { sha256 } from "../../../lib/plan/sha256.ts";
import { checkArm64Image } from "../../../lib/arch/arm64/format_image.ts";
import {
  ARM64_IMAGE_HEADER,
  ARM64_IMAGE_SIZE_MAX,
  parseArm64ImageHeader,
} from "../../../lib/arch/arm64/image_header.ts";
import { arm64KernelLayout } from "../../../lib/arch/arm64/kernel_layout.ts";
import { loadableRam } from "../../../lib/arch/arm64/memory.ts";
import { planArm64Crash } from "../../../lib/arch/arm64/crash.ts";
import { planArm64Image } from "../../../lib/arch/arm64/plan_image.ts";
import {
  findVmcoreinfoNote,
  kcoreNoteSegments,
  parseVmcoreinfoText,
} from "../../../lib/crash/kcore_notes.ts";
import { findCrashRegions } from "../../../lib/crash/region.ts";
import { parseKcoreLoads, readCrashSources } from "../../../lib/crash/sources.ts";
import {
  findNode,
  getProperty,
  parseFdt,
  readString,
  readU64,
  serializeFdt,
} from "../../../lib/fdt/fdt.ts";
import { parseIomem } from "../../../lib/memory/iomem.ts";
import type { SegmentLoadPlan } from "../../../lib/plan/types.ts";
import { validateSegmentPlan } from "../../../lib/plan/validate.ts";
import type { System } from "../../../lib/sys/system.ts";
import { arm64Fixture, arm64Image, virtFiles, virtIomem } from "../../support/arm64_machine.ts";
import { type ByteShape, mutateBytes } from "../mutate_bytes.ts";
import { mutateText } from "../mutate_text.ts";
import type { Rng } from "../rng.ts";
import { check, checkInteger, defineTarget, refuseOrFail } from "../target.ts";
import { elfShape, fdtShape, KERNEL_MAGICS } from "./shapes.ts";

const HEADER_WIDTHS: Record<keyof typeof ARM64_IMAGE_HEADER, 4 | 8 | undefined> = {
  code0: 4,
  code1: 4,
  textOffset: 8,
  imageSize: 8,
  flags: 8,
  magic: 4,
  res5: 4,
  size: undefined,
};

/** The Image header's fields, from the library's own offset table. */
const IMAGE_SHAPE: ByteShape = {
  fields: (Object.keys(HEADER_WIDTHS) as (keyof typeof ARM64_IMAGE_HEADER)[])
    .filter((k) => HEADER_WIDTHS[k] !== undefined)
    .map((k) => ({ offset: ARM64_IMAGE_HEADER[k], size: HEADER_WIDTHS[k]! })),
  boundaries: [0, 0x08, 0x10, 0x18, 0x38, 0x3c, 0x40, 0x1000],
  hotEnd: 0x40,
  dictionary: KERNEL_MAGICS,
  maxLength: 0x20000,
};

/** Debian's header, and the shapes kernels have had: old text_offset, BE, 16K, 64K, no stub. */
function imageSeeds(): Uint8Array[] {
  return [
    arm64Image({ length: 0x4000 }),
    arm64Image({ length: 0x4000, textOffset: 0x80000n, flags: 0n, efiStub: false }),
    arm64Image({ length: 0x4000, flags: 0xbn }),
    arm64Image({ length: 0x4000, flags: 0b1100n }),
    arm64Image({ length: 0x4000, flags: 0b1110n }),
    arm64Image({ length: 0x4000, imageSize: 0n }),
  ];
}

const mutateImage = (rng: Rng, seed: Uint8Array, seeds: readonly Uint8Array[]) =>
  mutateBytes(rng, seed, IMAGE_SHAPE, seeds);

const PAGE_SIZES = [0x1000, 0x4000, 0x10000] as const;

/** parseArm64ImageHeader and checkArm64Image under the three page sizes. */
export const arm64ImageTarget = defineTarget<{ bytes: Uint8Array; pageSize: number }>({
  name: "arm64_image",
  entry: "lib/arch/arm64/image_header.ts parseArm64ImageHeader + format_image.ts checkArm64Image",
  seeds: () => imageSeeds().flatMap((bytes) => PAGE_SIZES.map((pageSize) => ({ bytes, pageSize }))),
  mutate: (rng, seed, seeds) => ({
    bytes: mutateImage(rng, seed.bytes, seeds.map((s) => s.bytes)),
    pageSize: rng.chance(0.1) ? rng.pick(PAGE_SIZES) : seed.pageSize,
  }),
  run({ bytes, pageSize }) {
    const h = parseArm64ImageHeader(bytes, "fuzz.Image");
    checkInteger(h.textOffset, "text_offset", 0, 0x1fffff);
    checkInteger(h.imageSize, "image_size", 0, ARM64_IMAGE_SIZE_MAX);
    check([undefined, 0x1000, 0x4000, 0x10000].includes(h.pageSize), `page size ${h.pageSize}`);
    const c = checkArm64Image({
      bytes,
      path: "fuzz.Image",
      cmdlineLength: 100,
      wideUserAddresses: false,
      pageSize,
    });
    check(!h.bigEndian, "a big-endian Image passed the check");
    check(h.pageSize === undefined || h.pageSize === pageSize, "another page size passed");
    check(h.imageSize > 0, "image_size 0 passed");
    check(c.fitsSegmentLoad && c.segmentLoadMax === 2047, "limits");
  },
});

/** Inputs of a whole arm64 kexec_load plan. */
interface PlanInput {
  image: Uint8Array;
  iomem: string;
  dtb: Uint8Array;
  initrdSize: number;
  cmdline: string;
}

const dtbShapes = new WeakMap<Uint8Array, ByteShape>();

function dtbSeeds(): Uint8Array[] {
  const qemu = Deno.readFileSync(new URL("../../fixtures/fdt-qemu-virt.dtb", import.meta.url));
  return [qemu, arm64Fixture("fdt-virt-uefi.dtb")].map((b) => {
    dtbShapes.set(b, fdtShape(b));
    return b;
  });
}

const TEXT_TOKENS = [" : ", "System RAM", "reserved", "Kernel code", "Crash kernel", "\n  ", "-"];

/** planArm64Image over loadableRam of a fuzzed iomem, a fuzzed header and a fuzzed DTB. */
export const arm64PlanTarget = defineTarget<PlanInput>({
  name: "arm64_plan",
  entry: "lib/arch/arm64/memory.ts loadableRam + plan_image.ts planArm64Image",
  seeds: () => {
    const dtbs = dtbSeeds();
    return (["direct", "uefi"] as const).flatMap((boot, i) =>
      imageSeeds().slice(0, 2).map((image) => ({
        image,
        iomem: virtIomem(boot),
        dtb: dtbs[i],
        initrdSize: 300000,
        cmdline: 'console=ttyAMA0 e2e.arg="a b"',
      }))
    );
  },
  mutate(rng, seed, seeds) {
    switch (rng.int(5)) {
      case 0:
        return { ...seed, image: mutateImage(rng, seed.image, seeds.map((s) => s.image)) };
      case 1:
        return {
          ...seed,
          iomem: mutateText(rng, seed.iomem, TEXT_TOKENS, seeds.map((s) => s.iomem)),
        };
      case 2: {
        const shape = dtbShapes.get(seed.dtb) ?? { fields: [], littleEndian: false };
        return { ...seed, dtb: mutateBytes(rng, seed.dtb, shape, seeds.map((s) => s.dtb)) };
      }
      case 3:
        return { ...seed, initrdSize: rng.pick([0, 1, 4095, 4097, 1 << 20]) };
      default:
        return { ...seed, cmdline: mutateText(rng, seed.cmdline, ["x".repeat(700), "\0"], []) };
    }
  },
  run(input) {
    const ram = loadableRam(parseIomem(input.iomem));
    const initrd = new Uint8Array(input.initrdSize);
    const plan = planArm64Image({
      kernel: input.image,
      kernelPath: "fuzz.Image",
      initrd,
      cmdline: input.cmdline,
      dtb: input.dtb,
      dtbPath: "fuzz.dtb",
      usable: ram.ranges,
      kaslrSeed: new Uint8Array(8),
      rngSeed: new Uint8Array(128),
      verify: sha256,
      pageSize: 4096,
      flags: 0,
    });
    checkPlan(plan, ram.ranges, input.image);
    const dtb = plan.segments.find((s) => s.name === "dtb")!;
    const chosen = findNode(parseFdt(dtb.buf, "planned.dtb"), "/chosen");
    check(chosen, "no /chosen in the planned tree");
    // The line as UTF-8 carries it (a lone surrogate becomes U+FFFD on the way).
    const sent = new TextDecoder().decode(new TextEncoder().encode(input.cmdline));
    check(readString(getProperty(chosen, "bootargs")!) === sent, "bootargs");
    const initrdSeg = plan.segments.find((s) => s.name === "initrd");
    if (initrdSeg) {
      const start = getProperty(chosen, "linux,initrd-start");
      check(start && readU64(start) === BigInt(initrdSeg.mem), "linux,initrd-start");
    }
  },
});

function checkPlan(
  plan: SegmentLoadPlan,
  usable: readonly { start: number; end: number }[],
  image: Uint8Array,
): void {
  try {
    validateSegmentPlan(plan, {
      pageSize: 4096,
      crashRegion: plan.crashRegion,
      ramBytes: plan.ramBytes,
    });
  } catch (e) {
    refuseOrFail(e, "arm64 plan");
  }
  const h = parseArm64ImageHeader(image, "fuzz.Image");
  const kernel = plan.segments.find((s) => s.name === "kernel");
  check(kernel, "no kernel segment");
  check((kernel.mem - h.textOffset) % 0x200000 === 0, "kernel base not 2 MiB aligned");
  check(kernel.memsz >= h.imageSize, "kernel memsz below image_size");
  for (const s of plan.segments) {
    check(s.mem >= kernel.mem, `${s.name} below the kernel`);
    check(
      usable.some((r) => s.mem >= r.start && s.mem + s.memsz <= r.end),
      `${s.name} outside RAM`,
    );
  }
  const dtb = plan.segments.find((s) => s.name === "dtb")!;
  check(dtb.mem % 0x200000 === 0 && dtb.buf.length <= 0x200000, "DTB placement");
  check(plan.entry === plan.segments.find((s) => s.name === "purgatory")?.mem, "entry");
}

/** A file of the fake guest: text, bytes, or absent. */
type GuestFile = string | Uint8Array | undefined;

// The guest's files; its device tree without QEMU's megabyte of free space,
// so that saved crashers stay small (the tree is not mutated here).
function guestFiles(boot: "direct" | "uefi"): Record<string, GuestFile> {
  const files = Object.fromEntries(
    Object.entries(virtFiles(boot)).filter(([path, f]) =>
      (typeof f === "string" || f instanceof Uint8Array) && !path.startsWith("/boot/")
    ),
  ) as Record<string, GuestFile>;
  const fdt = files["/sys/firmware/fdt"] as Uint8Array;
  files["/sys/firmware/fdt"] = serializeFdt(parseFdt(fdt), { freeSpace: 0 });
  return files;
}

function fakeSystem(files: Record<string, GuestFile>): System {
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
    listDir: () => undefined,
  };
  return fs as unknown as System;
}

const KCORE_SHAPES = new WeakMap<Uint8Array, ByteShape>();

/** The byte shape of a seed's /proc/kcore (computed on the valid seed, never on a mutant). */
function kcoreShape(kcore: Uint8Array): ByteShape {
  let shape = KCORE_SHAPES.get(kcore);
  if (!shape) {
    shape = elfShape(kcore);
    KCORE_SHAPES.set(kcore, shape);
  }
  return shape;
}

function mutateGuest(
  rng: Rng,
  files: Record<string, GuestFile>,
  shape: ByteShape,
): Record<string, GuestFile> {
  const out = { ...files };
  const key = rng.pick([
    "/proc/iomem",
    "/proc/kcore",
    "/proc/kcore",
    "/proc/kallsyms",
    "/sys/kernel/vmcoreinfo",
  ]);
  const file = out[key];
  if (rng.chance(0.05)) {
    out[key] = undefined;
  } else if (file instanceof Uint8Array) {
    out[key] = mutateBytes(rng, file, shape, []);
  } else if (file !== undefined) {
    out[key] = mutateText(rng, file, [...TEXT_TOKENS, "ffff", "T _text", "0x"], []);
  }
  return out;
}

/** readCrashSources over a fuzzed guest, then planArm64Crash. */
export const arm64CrashTarget = defineTarget<Record<string, GuestFile>>({
  name: "arm64_crash",
  entry: "lib/crash/sources.ts readCrashSources + lib/arch/arm64/crash.ts planArm64Crash",
  seeds: () => [guestFiles("direct"), guestFiles("uefi")],
  mutate(rng, seed) {
    let files = seed;
    const shape = kcoreShape(seed["/proc/kcore"] as Uint8Array);
    for (let n = rng.count(3); n > 0; n--) files = mutateGuest(rng, files, shape);
    return files;
  },
  run(files) {
    const sys = fakeSystem(files);
    const sources = readCrashSources(sys);
    const plan = planArm64Crash({
      kernel: arm64Image({ length: 0x4000 }),
      kernelPath: "fuzz.Image",
      initrd: new Uint8Array(4096),
      cmdline: "nr_cpus=1",
      dtb: files["/sys/firmware/fdt"] as Uint8Array,
      dtbPath: "/sys/firmware/fdt",
      sources,
      kaslrSeed: new Uint8Array(8),
      rngSeed: new Uint8Array(128),
      verify: sha256,
      pageSize: 4096,
    });
    const regions = findCrashRegions(sources.iomem);
    check(plan.crashRegion?.start === regions.main.start, "not the main region");
    checkPlan(plan, [regions.main], arm64Image({ length: 0x4000 }));
    const hdr = plan.segments.find((s) => s.name === "elfcorehdr");
    check(hdr, "no elfcorehdr segment");
    const v = new DataView(hdr.buf.buffer, hdr.buf.byteOffset, hdr.buf.byteLength);
    check(v.getUint16(0x12, true) === 183, "e_machine is not EM_AARCH64");
    const holes = [regions.main, ...(regions.low ? [regions.low] : [])];
    const image = arm64KernelLayout(sources).kernelText;
    for (let i = 0, n = v.getUint16(0x38, true); i < n; i++) {
      const at = 64 + i * 56;
      if (v.getUint32(at, true) !== 1) continue; // PT_LOAD only
      const vaddr = v.getBigUint64(at + 16, true);
      const paddr = Number(v.getBigUint64(at + 24, true));
      const size = Number(v.getBigUint64(at + 40, true));
      check(vaddr >= 1n << 63n, `PT_LOAD at ${vaddr.toString(16)} outside the kernel half`);
      check(size > 0, "empty PT_LOAD");
      // RAM, unlike the kernel image (which lies in RAM), is never in a crash region.
      if (image && image.vaddr === vaddr && image.paddr === paddr) continue;
      check(
        !holes.some((h) => paddr < h.end && paddr + size > h.start),
        "dump covers a crash region",
      );
    }
  },
});

/** The /proc/kcore note reader and the arm64 layout on fuzzed kcore headers. */
export const kcoreVmcoreinfoTarget = defineTarget<Uint8Array>({
  name: "kcore_vmcoreinfo",
  entry: "lib/crash/kcore_notes.ts (+ lib/arch/arm64/kernel_layout.ts arm64KernelLayout)",
  seeds: () => [arm64Fixture("kcore-virt-direct.bin"), arm64Fixture("kcore-virt-uefi.bin")],
  mutate: (rng, seed) => mutateBytes(rng, seed, kcoreShape(seed), []),
  run(bytes) {
    let info: Map<string, string> | undefined;
    for (const s of kcoreNoteSegments(bytes)) {
      checkInteger(s.offset, "note offset");
      checkInteger(s.size, "note size");
      if (s.offset + s.size > bytes.length) continue;
      const text = findVmcoreinfoNote(bytes.subarray(s.offset, s.offset + s.size));
      if (text !== undefined) info ??= parseVmcoreinfoText(text);
    }
    const loads = parseKcoreLoads(bytes);
    const layout = arm64KernelLayout({
      iomem: parseIomem(virtIomem("direct")),
      kcoreLoads: loads,
      kcoreVmcoreinfo: info,
    });
    check(layout.linearOffset >= 0n && layout.linearOffset < 1n << 64n, "offset out of u64");
    const t = layout.kernelText;
    if (t) {
      checkInteger(t.paddr, "text paddr");
      checkInteger(t.size, "text size");
    }
  },
});
