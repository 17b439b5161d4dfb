/**
 * Plans a `kexec_load` of an arm64 Image (Documentation/arch/arm64/booting.rst):
 * the Image, the initrd, a device tree whose `/chosen` tells the new kernel
 * its command line, initrd and fresh seeds (and, for a crash kernel, its
 * memory and ELF core header), and our purgatory page, which checks the
 * segments' SHA-256 and enters the kernel with x0 = DTB and x1–x3 = 0.
 *
 * Placement follows the kernel's own arm64 file loader
 * (arch/arm64/kernel/kexec_image.c image_load, machine_kexec_file.c
 * load_other_segments):
 * - the Image at the lowest 2 MiB aligned base with room for `text_offset +
 *   image_size` (booting.rst: a base close to the start of RAM, since kernels
 *   before 4.6 cannot use memory below it); the segment starts at base +
 *   `text_offset` and reserves `image_size`;
 * - nothing below the kernel (memory there is not mapped by old kernels);
 * - an ELF core header (crash loads) top-down, 64 KiB aligned (the largest
 *   page size the crash kernel may use to reserve it);
 * - the initrd bottom-up above the kernel, inside the 1 GiB aligned window of
 *   at most 32 GiB that also covers the kernel (booting.rst);
 * - the device tree top-down, 2 MiB aligned, so it never crosses a 2 MiB
 *   block (booting.rst: the kernel maps it with blocks of up to 2 MiB), at
 *   most 2 MiB;
 * - the purgatory page top-down; it is the entry point.
 *
 * Pure: plan_load.ts reads the machine and passes it in.
 *
 * @module
 */

import type { Sha256 } from "../../bytes.ts";
import { KEXEC_ARCH_MASK } from "../../abi.ts";
import { cmdlineBytes } from "../../cmdline.ts";
import { KexecError } from "../../errors.ts";
import { editChosenForKexec, type KexecChosenCrash, kexecFdtBlob } from "../../fdt/chosen.ts";
import { parseFdt } from "../../fdt/parse.ts";
import { hex } from "../../format.ts";
import { type AddressBound, alignDown, SegmentAllocator } from "../../memory/allocator.ts";
import { formatRange } from "../../memory/memmap.ts";
import type { MemoryRange } from "../../memory/types.ts";
import { segmentTableLines } from "../../plan/segment_table.ts";
import type { Segment, SegmentLoadPlan } from "../../plan/types.ts";
import { ARM64_ABI } from "./abi.ts";
import {
  ARM64_COMMAND_LINE_SIZE,
  ARM64_IMAGE_BASE_ALIGN,
  type Arm64ImageHeader,
  describeArm64ImageHeader,
  parseArm64ImageHeader,
} from "./image_header.ts";
import { ARM64_PURGATORY_SIZE, buildArm64Purgatory, type PurgatoryRegion } from "./purgatory.ts";

export { ARM64_COMMAND_LINE_SIZE } from "./image_header.ts";
/** booting.rst: the device tree "must not exceed 2 megabytes in size". */
export const ARM64_DTB_MAX_SIZE = 0x200000;
/** Alignment of the device tree: a 2 MiB block of its own (machine_kexec_file.c, SZ_2M). */
export const ARM64_DTB_ALIGN = 0x200000;
/** Alignment of the ELF core header (machine_kexec_file.c: SZ_64K, "largest supported page size"). */
export const ARM64_ELFCOREHDR_ALIGN = 0x10000;
/** booting.rst: the initrd lies in a 1 GiB aligned window of up to 32 GiB that covers the kernel. */
export const ARM64_INITRD_WINDOW_ALIGN = 2 ** 30;
export const ARM64_INITRD_WINDOW_SIZE = 32 * 2 ** 30;

/** A crash load's additions (see crash.ts). */
export interface Arm64CrashSegments {
  /** The ELF core header bytes. */
  readonly elfcorehdr: Uint8Array;
  /** `linux,usable-memory-range`: the main crash region first, the low one last. */
  readonly usableMemory: KexecChosenCrash["usableMemory"];
  /** Lines explaining the header and the regions. */
  readonly notes: readonly string[];
}

/** Everything an arm64 Image plan depends on. */
export interface Arm64PlanInput {
  /** The Image (a read-only mapping or unwrapped bytes; only viewed, never copied). */
  readonly kernel: Uint8Array;
  readonly kernelPath: string;
  /** The initrd (concatenated if several), or null. */
  readonly initrd: Uint8Array | null;
  readonly cmdline: string;
  /** The device tree to start from: `--dtb`'s file or /sys/firmware/fdt. */
  readonly dtb: Uint8Array;
  /** Names the device tree in messages and notes. */
  readonly dtbPath: string;
  /** RAM the segments may use (see memory.ts; a crash load passes its region). */
  readonly usable: readonly MemoryRange[];
  /** Lines saying where `usable` came from. */
  readonly usableNotes?: readonly string[];
  readonly memMin?: number;
  readonly memMax?: number;
  /** 8 random bytes for `/chosen/kaslr-seed`. */
  readonly kaslrSeed: Uint8Array;
  /** Random bytes for `/chosen/rng-seed`. */
  readonly rngSeed: Uint8Array;
  /**
   * Let the purgatory check each segment's SHA-256 before the jump, hashing
   * with this function; absent with -i (no check).
   */
  readonly verify?: Sha256;
  /** Page size of the running kernel. */
  readonly pageSize: number;
  /** KEXEC_* low bits (KEXEC_ON_CRASH, KEXEC_PRESERVE_CONTEXT); the architecture is ORed in. */
  readonly flags: number;
  /** Set for a crash load. */
  readonly crash?: Arm64CrashSegments;
}

/**
 * Plans the load. Throws a {@link KexecError} for an Image that cannot be
 * booted, an over-long command line, a bad device tree, or a segment that
 * does not fit.
 *
 * @example
 * ```ts
 * import { planArm64Image } from "./plan_image.ts";
 * import { emptyFdt, fdtU32, serializeFdt, setProperty } from "../../fdt/fdt.ts";
 * const image = new Uint8Array(0x10000);
 * const v = new DataView(image.buffer);
 * v.setBigUint64(0x10, 0x200000n, true); // image_size
 * v.setBigUint64(0x18, 0xan, true); // 4K pages, anywhere
 * v.setUint32(0x38, 0x644d5241, true);
 * const tree = emptyFdt();
 * setProperty(tree.root, "#address-cells", fdtU32(2));
 * setProperty(tree.root, "#size-cells", fdtU32(2));
 * const plan = planArm64Image({
 *   kernel: image, kernelPath: "Image", initrd: null, cmdline: "console=ttyAMA0",
 *   dtb: serializeFdt(tree), dtbPath: "virt.dtb",
 *   usable: [{ start: 0x40000000, end: 0x80000000, kind: "ram" }],
 *   kaslrSeed: new Uint8Array(8), rngSeed: new Uint8Array(128),
 *   pageSize: 4096, flags: 0,
 * });
 * const kernel = plan.segments.find((s) => s.name === "kernel")!;
 * if (kernel.mem !== 0x40000000 || plan.flags !== 0xb70000) throw new Error();
 * if (plan.segments.find((s) => s.name === "dtb")!.mem % 0x200000 !== 0) throw new Error();
 * ```
 */
export function planArm64Image(input: Arm64PlanInput): SegmentLoadPlan {
  const header = parseArm64ImageHeader(input.kernel, input.kernelPath);
  checkSegmentable(header, input);
  const cmdline = cmdlineBytes(input.cmdline);
  if (cmdline.length > ARM64_COMMAND_LINE_SIZE) {
    throw new KexecError(
      `the command line is ${cmdline.length - 1} bytes; an arm64 kernel takes at most ` +
        `${
          ARM64_COMMAND_LINE_SIZE - 1
        } (COMMAND_LINE_SIZE ${ARM64_COMMAND_LINE_SIZE} with the NUL)`,
      { hint: "shorten --append" },
    );
  }
  const source = parseFdt(input.dtb, input.dtbPath);
  const notes: string[] = [
    `kernel ${input.kernelPath}: ${describeArm64ImageHeader(header)}`,
    ...(input.crash?.notes ?? []),
    ...(input.usableNotes ?? []),
    "segments may use:",
    ...input.usable.map((r) => `  ${formatRange(r)}`),
  ];
  const allocator = new SegmentAllocator(input.usable, {
    pageSize: input.pageSize,
    memMin: input.memMin,
    memMax: input.memMax,
  });
  const segments: Segment[] = [];

  // 1. The Image: the lowest 2 MiB aligned base with text_offset + image_size free.
  const base = allocator.place({
    name: "kernel",
    size: header.textOffset + header.imageSize,
    align: ARM64_IMAGE_BASE_ALIGN,
    direction: "bottom-up",
  });
  const kernel = push(segments, "kernel", input.kernel, base.start + header.textOffset, base.end);
  notes.push(
    `kernel: base ${hex(base.start)} (lowest free 2 MiB aligned), entry ${hex(kernel.mem)} ` +
      `(base + text_offset), memsz ${hex(kernel.memsz)} covers image_size`,
  );
  const lowest = input.usable.reduce((n, r) => Math.min(n, r.start), Infinity);
  if (!header.placeAnywhere && base.start > lowest) {
    notes.push(
      `kernel: flags bit 3 is clear, so this kernel cannot map the ${hex(base.start - lowest)} ` +
        `bytes of RAM below its base (the lowest usable RAM starts at ${hex(lowest)})`,
    );
  }
  const aboveKernel: AddressBound = {
    address: base.end,
    reason: "the kernel's end: kernels before 4.6 cannot use memory below their image",
  };

  // 2. The ELF core header of a crash load.
  let elfcorehdr: Segment | undefined;
  if (input.crash) {
    const p = allocator.place({
      name: "elfcorehdr",
      size: input.crash.elfcorehdr.length,
      align: ARM64_ELFCOREHDR_ALIGN,
      min: [aboveKernel],
      direction: "top-down",
    });
    elfcorehdr = push(segments, "elfcorehdr", input.crash.elfcorehdr, p.start, p.end);
    notes.push(
      `elfcorehdr: ${hex(p.start)}, ${input.crash.elfcorehdr.length} bytes (64 KiB aligned, ` +
        "top-down)",
    );
  }

  // 3. The initrd, bottom-up above the kernel in its 32 GiB window.
  let initrd: Segment | undefined;
  if (input.initrd && input.initrd.length > 0) {
    const window = alignDown(base.start, ARM64_INITRD_WINDOW_ALIGN) + ARM64_INITRD_WINDOW_SIZE;
    const p = allocator.place({
      name: "initrd",
      size: input.initrd.length,
      min: [aboveKernel],
      limit: [{ address: window, reason: "the 1 GiB aligned 32 GiB window holding the kernel" }],
      direction: "bottom-up",
    });
    initrd = push(segments, "initrd", input.initrd, p.start, p.end);
    notes.push(`initrd: ${hex(p.start)}, ${input.initrd.length} bytes, bottom-up above the kernel`);
  } else if (input.initrd) {
    notes.push("initrd: empty, not passed");
  }

  // 4. The device tree, now that every address it names is known.
  const edit = editChosenForKexec(source, {
    cmdline,
    initrd: initrd ? { start: initrd.mem, size: initrd.buf.length } : null,
    kaslrSeed: input.kaslrSeed,
    rngSeed: input.rngSeed,
    crash: input.crash && elfcorehdr
      ? {
        elfcorehdr: { start: elfcorehdr.mem, size: elfcorehdr.buf.length },
        usableMemory: input.crash.usableMemory,
      }
      : undefined,
  });
  const fdt = kexecFdtBlob(edit.fdt, ARM64_DTB_MAX_SIZE);
  const dtbPlace = allocator.place({
    name: "dtb",
    size: fdt.blob.length,
    align: ARM64_DTB_ALIGN,
    min: [aboveKernel],
    direction: "top-down",
  });
  const dtb = push(segments, "dtb", fdt.blob, dtbPlace.start, dtbPlace.end);
  notes.push(
    `device tree from ${input.dtbPath}: ${hex(dtb.mem)} (2 MiB aligned, top-down)`,
    ...fdt.notes.map((n) => `  ${n}`),
    ...edit.notes.map((n) => `  ${n}`),
  );

  // 5. The purgatory, last: it carries the digests of every other segment.
  const purgatoryPlace = allocator.place({
    name: "purgatory",
    size: ARM64_PURGATORY_SIZE,
    min: [aboveKernel],
    direction: "top-down",
  });
  const digest = input.verify;
  const verify: PurgatoryRegion[] = digest
    ? segments.map((s) => ({ mem: s.mem, len: s.buf.length, sha256: digest(s.buf) }))
    : [];
  const page = buildArm64Purgatory({ kernelEntry: kernel.mem, dtb: dtb.mem, verify });
  const purgatory = push(segments, "purgatory", page, purgatoryPlace.start, purgatoryPlace.end);
  notes.push(
    `purgatory: ${hex(purgatory.mem)} (entry); ` +
      (input.verify
        ? `checks SHA-256 of ${verify.length} segments, then x0 = ${hex(dtb.mem)}, x1-x3 = 0, ` +
          `branch to ${hex(kernel.mem)}`
        : `no digest check (-i); x0 = ${hex(dtb.mem)}, x1-x3 = 0, branch to ${hex(kernel.mem)}`),
  );
  if (input.memMin !== undefined || input.memMax !== undefined) {
    notes.push(
      "every placement above was also bounded by " +
        [
          input.memMin === undefined ? "" : `--mem-min=${hex(input.memMin)}`,
          input.memMax === undefined ? "" : `--mem-max=${hex(input.memMax)}`,
        ].filter((w) => w !== "").join(" "),
    );
  }
  segments.sort((a, b) => a.mem - b.mem);
  notes.push("segments:", ...segmentTableLines(segments));
  return {
    syscall: "kexec_load",
    entry: purgatory.mem,
    segments,
    flags: archFlags(input.flags),
    cmdline: input.cmdline,
    notes,
  };
}

function push(
  segments: Segment[],
  name: string,
  buf: Uint8Array,
  mem: number,
  end: number,
): Segment {
  const segment = { name, buf, mem, memsz: end - mem };
  segments.push(segment);
  return segment;
}

// What the header must say before a byte is placed (format_image.ts checks
// endianness and page size before any system call; these make the segment).
function checkSegmentable(header: Arm64ImageHeader, input: Arm64PlanInput): void {
  const path = input.kernelPath;
  if (header.imageSize === 0) {
    throw new KexecError(
      `kernel ${path}: image_size is 0, as in kernels before 3.17, whose size in memory ` +
        "is unknown",
      { hint: "load a kernel of Linux 3.17 or later" },
    );
  }
  if (input.kernel.length > header.imageSize) {
    throw new KexecError(
      `kernel ${path}: the file has ${input.kernel.length} bytes, more than the ` +
        `${header.imageSize} of image_size: the header or the file is wrong`,
      { hint: "give the Image the kernel build made (arch/arm64/boot/Image)" },
    );
  }
  if (header.textOffset % input.pageSize !== 0) {
    throw new KexecError(
      `kernel ${path}: text_offset ${hex(header.textOffset)} is not a multiple of the ` +
        `${input.pageSize}-byte page size, so no kexec segment can start there`,
      { hint: "load a kernel built with a page-aligned TEXT_OFFSET (every kernel since 5.8)" },
    );
  }
}

function archFlags(flags: number): number {
  const arch = (flags & KEXEC_ARCH_MASK) >>> 0;
  if (arch !== 0 && arch !== ARM64_ABI.kexecArch) {
    throw new RangeError(`flags ${hex(flags >>> 0)} name another architecture`);
  }
  return ((flags & ~KEXEC_ARCH_MASK) | ARM64_ABI.kexecArch) >>> 0;
}
