/**
 * Plans a `kexec_load` of an x86_64 bzImage for the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"):
 * the protected-mode kernel as-is, the initrd, one boot_params segment
 * (boot_params, command line, setup_data) and our purgatory page, which loads
 * its own GDT, optionally checks SHA-256 digests of the other segments, and
 * jumps to the kernel's 64-bit entry with %rsi = boot_params.
 *
 * Placement (see allocator.ts): the kernel goes bottom-up from `pref_address`
 * at `kernel_alignment`, so an unmodified relocatable kernel runs where it was
 * put (the verified layout); initrd, boot_params and purgatory go top-down,
 * away from the kernel's `init_size` window and from low memory. Everything
 * stays at or above 1 MiB; the initrd ends at or below `initrd_addr_max` + 1;
 * boot_params and purgatory stay below 4 GiB (as verified); the kernel only
 * goes above 4 GiB when it sets XLF_CAN_BE_LOADED_ABOVE_4G.
 *
 * Crash loads pass the crash region as `placeable` and add their elfcorehdr
 * through the {@link ExtraSegmentsHook}, which may also rewrite the command
 * line and the e820 once it knows where its segments went.
 *
 * @module
 */

import { KEXEC_PRESERVE_CONTEXT } from "../../abi.ts";
import { alignUp, SegmentAllocator } from "../../memory/allocator.ts";
import { hex } from "../../format.ts";
import { formatRange, ramRanges } from "../../memory/memmap.ts";
import { segmentTableLines } from "../../plan/segment_table.ts";
import type { Segment, SegmentLoadPlan } from "../../plan/types.ts";
import { BOOT_PARAMS, buildBootParams } from "./boot_params.ts";
import { archFlags, checkHalfOfRam, checkKernelFits } from "./bzimage_checks.ts";
import { type BzImagePlanInput, RNG_SEED_SIZE } from "./bzimage_input.ts";
import { BELOW_4GIB, placePreferring, pushSegment } from "./bzimage_placement.ts";
import { bzImageKernel, canLoadAbove4G, FLOOR_1MIB } from "./kernel_image.ts";
import { encodeCmdline, encodeCmdlineWithRoom } from "./cmdline.ts";
import { e820FromMemoryMap, encodeE820, splitE820 } from "./e820.ts";
import { type EfiHandover, planEfiHandover } from "./efi.ts";
import {
  buildPurgatory,
  PURGATORY_KJUMP_ENTRY,
  PURGATORY_KJUMP_ROOM,
  PURGATORY_SIZE,
  type PurgatoryConfig,
  type PurgatoryRegion,
} from "./purgatory.ts";
import {
  SETUP_DATA_TYPE,
  type SetupDataNode,
  setupDataSize,
  writeSetupData,
} from "./setup_data.ts";
import { hasSetupHeader, type SetupHeader } from "./setup_header.ts";

export { STARTUP_64_OFFSET } from "./kernel_image.ts";
export {
  type BzImagePlanInput,
  type ExtraSegmentRequest,
  type ExtraSegmentsHook,
  type ExtraSegmentsResult,
  RNG_SEED_SIZE,
} from "./bzimage_input.ts";

// setup_data follows the command line at this alignment (u64 `next` fields).
const SETUP_DATA_ALIGN = 16;

/**
 * Cheap check: the file carries the Linux x86 boot header ("HdrS" and 0xAA55).
 * Old or 32-bit-only kernels also match, so {@link planBzImage64} can say why
 * it refuses them.
 *
 * @example
 * ```ts
 * import { probeBzImage } from "./bzimage.ts";
 * if (probeBzImage(new Uint8Array(4096))) throw new Error();
 * ```
 */
export function probeBzImage(bytes: Uint8Array): boolean {
  return hasSetupHeader(bytes);
}

/**
 * Plans the kexec_load of a bzImage for its 64-bit entry. Throws
 * a `KexecError` (lib/errors.ts) for an unusable kernel, an over-long command line, a
 * segment that does not fit, or more segments than kexec_load accepts.
 *
 * @example
 * ```ts
 * import { planBzImage64 } from "./bzimage.ts";
 * const k = new Uint8Array(0x3000);
 * const v = new DataView(k.buffer);
 * k[0x1f1] = 1;
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint16(0x200, 0x6aeb, true);
 * v.setUint32(0x202, 0x53726448, true);
 * v.setUint16(0x206, 0x020f, true);
 * k[0x211] = 1;
 * v.setUint32(0x22c, 0x7fffffff, true);
 * v.setUint32(0x230, 0x200000, true);
 * k[0x234] = 1;
 * v.setUint16(0x236, 3, true);
 * v.setUint32(0x238, 2047, true);
 * v.setBigUint64(0x258, 0x1000000n, true);
 * v.setUint32(0x260, 0x800000, true);
 * const plan = planBzImage64({
 *   kernel: k, kernelPath: "vmlinuz", initrd: null, cmdline: "console=ttyS0",
 *   memoryMap: [{ start: 0x100000, end: 0x40000000, kind: "ram" }],
 *   rngSeed: new Uint8Array(32), pageSize: 4096, flags: 0,
 * });
 * if (plan.segments.find((s) => s.name === "kernel")?.mem !== 0x1000000) throw new Error();
 * if (plan.flags !== 0x3e0000) throw new Error();
 * ```
 */
export function planBzImage64(input: BzImagePlanInput): SegmentLoadPlan {
  const image = input.image ?? bzImageKernel(input.kernel, input.kernelPath);
  const header = image.header;
  checkKernelFits(header, input);
  if (input.rngSeed.length !== RNG_SEED_SIZE) {
    throw new RangeError(`rngSeed must be ${RNG_SEED_SIZE} bytes, got ${input.rngSeed.length}`);
  }
  const flags = archFlags(input.flags);
  const notes: string[] = [image.summary];
  const placeable = input.placeable ?? input.memoryMap;
  const allocator = new SegmentAllocator(placeable, {
    pageSize: input.pageSize,
    memMin: input.memMin,
    memMax: input.memMax,
  });
  const segments: Segment[] = [];
  const unverified = new Set<Segment>();
  const canGoAbove4G = canLoadAbove4G(header);

  // 1. The caller's segments, first so that they get the placement they ask for.
  const extra = input.extraSegments?.((request) => {
    const memsz = Math.max(request.memsz ?? 0, request.buf.length);
    const p = allocator.place({
      name: request.name,
      size: memsz,
      align: request.align,
      min: [FLOOR_1MIB],
      limit: canGoAbove4G ? [] : [BELOW_4GIB],
      direction: request.direction ?? "top-down",
    });
    const segment = { name: request.name, buf: request.buf, mem: p.start, memsz: p.end - p.start };
    segments.push(segment);
    if (request.unverified) unverified.add(segment);
    notes.push(`${request.name}: ${hex(p.start)}, ${request.buf.length} bytes (added by caller)`);
    return segment;
  }) ?? {};
  notes.push(...(extra.notes ?? []));
  const cmdline = extra.cmdline ?? input.cmdline;
  const memoryMap = extra.memoryMap ?? input.memoryMap;
  // KEXEC_PRESERVE_CONTEXT: the purgatory appends kexec_jump_back_entry= in
  // room reserved after the line (see purgatory.S, the kexec-jump part).
  const kjump = (flags & KEXEC_PRESERVE_CONTEXT) !== 0;
  const cmdlineBytes = kjump
    ? encodeCmdlineWithRoom(cmdline, header.cmdlineSize, input.kernelPath, PURGATORY_KJUMP_ROOM)
    : encodeCmdline(cmdline, header.cmdlineSize, input.kernelPath);
  const cmdlineLength = cmdlineBytes.length - (kjump ? PURGATORY_KJUMP_ROOM : 1);
  const e820 = e820FromMemoryMap(memoryMap);

  notes.push(
    `memory map from ${input.memoryMapSource ?? "the caller"} (${memoryMap.length} ranges, ` +
      "passed as e820):",
    ...memoryMap.map((r) => `  ${formatRange(r)}`),
  );
  if (input.placeable) {
    notes.push(
      "segments restricted to:",
      ...ramRanges(input.placeable).map((r) => `  ${formatRange(r)}`),
    );
  }

  // 2. The kernel: its pieces inside one reserved span (a bzImage: the
  // protected-mode part with the whole init_size window).
  const kernelPlacement = allocator.place(image.placement(canGoAbove4G, input.pageSize));
  for (const piece of image.pieces) {
    const start = kernelPlacement.start + piece.offset;
    pushSegment(segments, piece.name, piece.buf, {
      start,
      end: start + alignUp(piece.memsz, input.pageSize),
    });
  }
  const entry64 = kernelPlacement.start + image.entryOffset;
  notes.push(image.describePlacement(kernelPlacement.start, kernelPlacement.end));

  // 3. The initrd, top-down below initrd_addr_max.
  let initrd: Segment | null = null;
  if (input.initrd && input.initrd.length > 0) {
    const p = placePreferring(
      allocator,
      {
        name: "initrd",
        size: input.initrd.length,
        min: [FLOOR_1MIB],
        limit: [{
          address: header.initrdAddrMax + 1,
          reason: `initrd_addr_max ${hex(header.initrdAddrMax)}`,
        }],
        direction: "top-down",
      },
      canGoAbove4G,
      notes,
    );
    initrd = pushSegment(segments, "initrd", input.initrd, p);
    notes.push(
      `initrd: ${hex(initrd.mem)}, ${input.initrd.length} bytes, top-down: highest free RAM ` +
        `ending at or below initrd_addr_max ${hex(header.initrdAddrMax)} + 1`,
    );
  } else if (input.initrd) {
    notes.push("initrd: empty, not passed");
  }

  // 4. boot_params page, command line right after it, then setup_data, then
  // the EFI runtime map (as the kernel's own loader lays its segment out).
  const { zeroPage, extended } = splitE820(e820);
  const setupData: SetupDataNode[] = [{ type: SETUP_DATA_TYPE.RNG_SEED, data: input.rngSeed }];
  if (extended.length > 0) {
    setupData.push({ type: SETUP_DATA_TYPE.E820_EXT, data: encodeE820(extended) });
  }
  const efi = efiHandover(input, header, notes);
  if (efi) setupData.push({ type: SETUP_DATA_TYPE.EFI, data: efi.setupData });
  if (input.screenInfo) notes.push(input.screenInfo.note);
  const cmdlineOffset = BOOT_PARAMS.size;
  const setupDataOffset = alignUp(cmdlineOffset + cmdlineBytes.length, SETUP_DATA_ALIGN);
  const setupDataEnd = setupDataOffset + setupDataSize(setupData);
  const efiMemmapOffset = alignUp(setupDataEnd, SETUP_DATA_ALIGN);
  const paramsBytes = efi ? efiMemmapOffset + efi.memmap.length : setupDataEnd;
  // With digests to check, the segment gets one more zero-filled page at its
  // end (beyond bufsz, so outside the verified bytes) for the purgatory's
  // stack: hashing with the stack on the code page is ~40x slower under TCG.
  // A preserve-context page always needs it (its kexec-jump part is where
  // the page's own stack would be).
  const withStackPage = input.verify !== undefined || kjump;
  const stackPageBytes = withStackPage ? PURGATORY_SIZE : 0;
  const paramsPlacement = placePreferring(
    allocator,
    {
      name: "boot_params",
      size: alignUp(paramsBytes, Math.max(input.pageSize, PURGATORY_SIZE)) + stackPageBytes,
      min: [FLOOR_1MIB],
      limit: [BELOW_4GIB],
      direction: "top-down",
    },
    canGoAbove4G,
    notes,
  );
  const paramsBuf = new Uint8Array(paramsBytes);
  const layout = writeSetupData(paramsBuf, setupDataOffset, paramsPlacement.start, setupData);
  paramsBuf.set(cmdlineBytes, cmdlineOffset);
  if (efi) paramsBuf.set(efi.memmap, efiMemmapOffset);
  paramsBuf.set(
    buildBootParams({
      kernel: image.headerBytes,
      header,
      cmdLinePtr: paramsPlacement.start + cmdlineOffset,
      initrd: initrd ? { address: initrd.mem, size: initrd.buf.length } : null,
      setupData: layout.head,
      e820: zeroPage,
      running: input.runningBootParams,
      acpiRsdpAddr: input.acpiRsdpAddr,
      screenInfo: input.screenInfo?.bytes,
      efi: efi && { handover: efi, memmapAddress: paramsPlacement.start + efiMemmapOffset },
    }),
  );
  const params = pushSegment(segments, "boot_params", paramsBuf, paramsPlacement);
  notes.push(
    `boot_params: ${hex(params.mem)}; command line (${cmdlineLength} bytes) at ` +
      `${hex(params.mem + cmdlineOffset)}; setup_data ` +
      layout.addresses.map((a, i) => `${setupDataName(setupData[i].type)}@${hex(a)}`).join(", ") +
      `; e820: ${zeroPage.length} entries in boot_params` +
      (extended.length ? `, ${extended.length} in SETUP_E820_EXT` : "") +
      (efi ? `; EFI runtime map at ${hex(params.mem + efiMemmapOffset)}` : ""),
  );

  // 5. Purgatory, built last: it carries the digests of every other segment.
  const purgatoryPlacement = placePreferring(
    allocator,
    {
      name: "purgatory",
      size: PURGATORY_SIZE,
      min: [FLOOR_1MIB],
      limit: [BELOW_4GIB],
      direction: "top-down",
    },
    canGoAbove4G,
    notes,
  );
  const digest = input.verify;
  const verify: PurgatoryRegion[] = digest
    ? segments.filter((s) => !unverified.has(s) && s.buf.length > 0).map((s) => ({
      mem: s.mem,
      len: s.buf.length,
      sha256: digest(s.buf),
    }))
    : [];
  const stackPage = withStackPage ? params.mem + params.memsz - PURGATORY_SIZE : undefined;
  const cmdlineEnd = params.mem + cmdlineOffset + cmdlineLength;
  // A variable, not a literal: `stackPage` is an optional extension of the
  // purgatory contract that builds without it simply ignore.
  const purgatoryConfig: PurgatoryConfig & { stackPage?: number } = {
    entry64,
    bootParams: params.mem,
    verify,
    ...(stackPage === undefined ? {} : { stackPage }),
    ...(kjump ? { kjump: { cmdlineEnd } } : {}),
  };
  const purgatoryBuf = buildPurgatory(purgatoryConfig);
  const purgatory = pushSegment(segments, "purgatory", purgatoryBuf, purgatoryPlacement);
  notes.push(
    `purgatory: ${hex(purgatory.mem)} (entry); ` +
      (input.verify
        ? `checks SHA-256 of ${verify.length} segments before jumping, ` +
          `stack page ${hex(stackPage ?? 0)} (end of the boot_params segment)`
        : "no digest check (-i)"),
  );
  if (kjump) {
    notes.push(
      `kexec jump: entry ${hex(purgatory.mem + PURGATORY_KJUMP_ENTRY)} (the page's ` +
        "preserve-context entry) saves the return address and, after the digests, appends " +
        `" kexec_jump_back_entry=0x…" at ${hex(cmdlineEnd)} (${PURGATORY_KJUMP_ROOM} bytes ` +
        "reserved there); a digest mismatch returns to this kernel",
    );
  }

  segments.sort((a, b) => a.mem - b.mem);
  checkHalfOfRam(segments, input.memoryMap, flags);
  if (input.memMin !== undefined || input.memMax !== undefined) {
    const window = [
      input.memMin !== undefined ? `--mem-min=${hex(input.memMin)}` : "",
      input.memMax !== undefined ? `--mem-max=${hex(input.memMax)}` : "",
    ].filter((w) => w !== "").join(" ");
    notes.push(`every placement above was also bounded by ${window}`);
  }
  notes.push("segments:", ...segmentTableLines(segments));
  return {
    syscall: "kexec_load",
    entry: purgatory.mem + (kjump ? PURGATORY_KJUMP_ENTRY : 0),
    segments,
    flags,
    cmdline,
    notes,
  };
}

// The EFI handover for this kernel, or undefined (with the reason in the
// notes when the machine booted through UEFI but EFI cannot be handed over).
function efiHandover(
  input: BzImagePlanInput,
  header: SetupHeader,
  notes: string[],
): EfiHandover | undefined {
  if (!input.efi) return undefined;
  const plan = planEfiHandover({
    running: input.runningBootParams,
    xloadflags: header.xloadflags,
    firmware: input.efi,
  });
  if ("reason" in plan) {
    notes.push(`EFI: not handed over: ${plan.reason}; the kernel boots as on a BIOS machine`);
    return undefined;
  }
  notes.push(...plan.notes);
  return plan;
}

function setupDataName(type: number): string {
  const entry = Object.entries(SETUP_DATA_TYPE).find(([, value]) => value === type);
  return entry ? `SETUP_${entry[0]}` : `type ${type}`;
}
