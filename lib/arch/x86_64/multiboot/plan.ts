/**
 * Plans a `kexec_load` of a Multiboot or Multiboot2 kernel (pure: image,
 * modules, memory map and options in, a {@link SegmentLoadPlan} out):
 *
 * 1. the kernel at its load addresses (or relocated, Multiboot2 3.1.13);
 * 2. each `--module`, page-aligned, below 4 GiB, in the order given;
 * 3. the boot information (Multiboot 0.6.96 3.3 / Multiboot2 2.0 3.6), below
 *    4 GiB, followed by a page the purgatory uses as its stack;
 * 4. the entry page (entry.S), which leaves long mode and jumps to the
 *    kernel with EAX = magic and EBX = the boot information;
 * 5. the purgatory page (../purgatory.S), the image's entry: it checks the
 *    SHA-256 of every other segment, then jumps to the entry page.
 *
 * The command line the kernel gets is the kernel's path, a space and the
 * user's command line, and each module's string is its `--module` argument
 * as given ("FILE ARGS"), as kexec-tools and GRUB Legacy pass them: Xen and
 * other Multiboot kernels drop the first word of each.
 *
 * @module
 */

import type { Sha256 } from "../../../bytes.ts";
import { X86_64_ABI } from "../abi.ts";
import { hex } from "../../../format.ts";
import { type AddressBound, alignUp, SegmentAllocator } from "../../../memory/allocator.ts";
import { formatRange } from "../../../memory/memmap.ts";
import type { MemoryRange } from "../../../memory/types.ts";
import { segmentTableLines } from "../../../plan/segment_table.ts";
import type { Segment, SegmentLoadPlan } from "../../../plan/types.ts";
import { buildPurgatory, PURGATORY_SIZE } from "../purgatory.ts";
import { buildMultibootEntry, MULTIBOOT_ENTRY_SIZE } from "./entry.ts";
import { readMultibootKernel } from "./kernel.ts";
import { buildMultiboot1Info, multiboot1InfoSize, type MultibootModuleInfo } from "./info1.ts";
import { buildMultiboot2Info, type EfiSystemTable, multiboot2InfoSize } from "./info2.ts";
import { basicMemory, multibootMemoryMap } from "./memory.ts";
import { placeKernel } from "./place_kernel.ts";
import type { KernelModule } from "../../types.ts";

export { type MultibootKernel, readMultibootKernel } from "./kernel.ts";

/** The name this loader gives itself in the boot information. */
export const MULTIBOOT_BOOT_LOADER_NAME = "kexec (Deno)";

/** Everything a Multiboot kexec_load plan depends on. */
export interface MultibootPlanInput {
  /** 1 = Multiboot (0.6.96), 2 = Multiboot2. */
  readonly version: 1 | 2;
  /** The kernel image (native: already unwrapped from gzip). */
  readonly kernel: Uint8Array;
  readonly kernelPath: string;
  /** The user's command line (the kernel's path is put before it). */
  readonly cmdline: string;
  readonly modules: readonly KernelModule[];
  /** The memory map passed to the kernel, and where segments may go (its RAM). */
  readonly memoryMap: readonly MemoryRange[];
  readonly memoryMapSource?: string;
  readonly memMin?: number;
  readonly memMax?: number;
  /**
   * Let the purgatory check each segment's SHA-256 before the jump, hashing
   * with this function; absent with -i (no check).
   */
  readonly verify?: Sha256;
  readonly pageSize: number;
  /** The running machine's EFI system table, if it booted through EFI. */
  readonly efiSystemTable?: EfiSystemTable;
}

const FLOOR_1MIB: AddressBound = {
  address: 0x100000,
  reason: "1 MiB floor: low memory belongs to firmware",
};
const BELOW_4GIB: AddressBound = {
  address: 2 ** 32,
  reason: "4 GiB: Multiboot addresses are 32-bit",
};

/**
 * Plans the kexec_load of a Multiboot or Multiboot2 kernel with its modules.
 * Throws a {@link KexecError} for a header it cannot honour, inconsistent or
 * overlapping load addresses, a kernel whose addresses are not free RAM, or
 * segments that do not fit.
 *
 * @example
 * ```ts
 * import { planMultiboot } from "./plan.ts";
 * // A flat image with the a.out kludge: header at 0, loaded at 1 MiB.
 * const k = new Uint8Array(0x100);
 * const v = new DataView(k.buffer);
 * const flags = 0x10003;
 * v.setUint32(0, 0x1badb002, true);
 * v.setUint32(4, flags, true);
 * v.setUint32(8, -(0x1badb002 + flags) >>> 0, true);
 * [0x100000, 0x100000, 0, 0x102000, 0x100020].forEach((a, i) => v.setUint32(12 + 4 * i, a, true));
 * const plan = planMultiboot({
 *   version: 1, kernel: k, kernelPath: "/boot/k", cmdline: "x=1",
 *   modules: [{ path: "/m", cmdline: "/m y=2", bytes: new Uint8Array(10) }],
 *   memoryMap: [{ start: 0x100000, end: 0x10000000, kind: "ram" }],
 *   pageSize: 4096,
 * });
 * if (plan.segments.find((s) => s.name === "kernel")?.mem !== 0x100000) throw new Error();
 * if (!plan.segments.some((s) => s.name === "module0")) throw new Error();
 * ```
 */
export function planMultiboot(input: MultibootPlanInput): SegmentLoadPlan {
  const path = input.kernelPath;
  const facts = readMultibootKernel(input.kernel, path, input.version, !!input.efiSystemTable);
  const allocator = new SegmentAllocator(input.memoryMap, {
    pageSize: input.pageSize,
    memMin: input.memMin,
    memMax: input.memMax,
  });
  const kernel = placeKernel(allocator, facts.layout, path, input.pageSize, facts.relocatable);
  const segments: Segment[] = [...kernel.segments];
  const notes = [...facts.notes, ...kernel.notes];

  const modules: MultibootModuleInfo[] = input.modules.map((m, i) => {
    const name = `module${i}`;
    // An empty module still gets an address (and a zero page).
    const p = allocator.place({
      name: `${name} (${m.path})`,
      size: Math.max(m.bytes.length, 1),
      min: [FLOOR_1MIB],
      limit: [BELOW_4GIB],
      direction: "top-down",
    });
    segments.push({ name, buf: m.bytes, mem: p.start, memsz: p.end - p.start });
    notes.push(
      `${name}: ${hex(p.start)}, ${m.bytes.length} bytes, string ${JSON.stringify(m.cmdline)}`,
    );
    return { start: p.start, end: p.start + m.bytes.length, cmdline: m.cmdline };
  });

  const cmdline = input.cmdline === "" ? path : `${path} ${input.cmdline}`;
  const memoryMap = multibootMemoryMap(input.memoryMap);
  const memory = basicMemory(input.memoryMap);
  const efiSystemTable = facts.wantsEfi ? input.efiSystemTable : undefined;
  const common = {
    cmdline,
    bootLoaderName: MULTIBOOT_BOOT_LOADER_NAME,
    memory,
    memoryMap,
    modules,
    efiSystemTable,
    loadBaseAddr: kernel.loadBase,
  };
  const infoSize = input.version === 1 ? multiboot1InfoSize(common) : multiboot2InfoSize(common);
  // With digests to check, the purgatory gets a stack page after the
  // information (beyond bufsz: never hashed), as the bzImage planner does.
  const stackBytes = input.verify ? PURGATORY_SIZE : 0;
  const infoPlace = allocator.place({
    name: "Multiboot information",
    size: alignUp(infoSize, input.pageSize) + stackBytes,
    min: [FLOOR_1MIB],
    limit: [BELOW_4GIB],
    direction: "top-down",
  });
  const info = input.version === 1
    ? buildMultiboot1Info({ ...common, base: infoPlace.start })
    : buildMultiboot2Info({ ...common, base: infoPlace.start });
  segments.push({
    name: "mb_info",
    buf: info,
    mem: infoPlace.start,
    memsz: infoPlace.end - infoPlace.start,
  });
  notes.push(
    `boot information (Multiboot${input.version === 2 ? "2" : ""}): ${hex(infoPlace.start)}, ` +
      `${info.length} bytes; command line ${JSON.stringify(cmdline)}; mem_lower ` +
      `${memory.lowerKiB} KiB, mem_upper ${memory.upperKiB} KiB; ${memoryMap.length} memory ` +
      `map entries from ${input.memoryMapSource ?? "the caller"}` +
      (efiSystemTable ? `; EFI system table ${hex(efiSystemTable.address)}` : "") +
      (kernel.loadBase !== undefined ? `; load base ${hex(kernel.loadBase)}` : ""),
    ...input.memoryMap.map((r) => `  ${formatRange(r)}`),
  );

  const entryPlace = allocator.place({
    name: "Multiboot entry page",
    size: MULTIBOOT_ENTRY_SIZE,
    min: [FLOOR_1MIB],
    limit: [BELOW_4GIB],
    direction: "top-down",
  });
  segments.push({
    name: "mb_entry",
    buf: buildMultibootEntry({
      entry: kernel.layout.entry,
      magic: facts.magic,
      info: infoPlace.start,
    }),
    mem: entryPlace.start,
    memsz: entryPlace.end - entryPlace.start,
  });
  notes.push(
    `entry page: ${hex(entryPlace.start)}: leaves long mode, then EAX = ${hex(facts.magic)}, ` +
      `EBX = ${hex(infoPlace.start)}, jumps to ${hex(kernel.layout.entry)} in 32-bit ` +
      "protected mode with paging off",
  );

  const purgatoryPlace = allocator.place({
    name: "purgatory",
    size: PURGATORY_SIZE,
    min: [FLOOR_1MIB],
    limit: [BELOW_4GIB],
    direction: "top-down",
  });
  const digest = input.verify;
  const verify = digest
    ? segments.filter((s) => s.buf.length > 0).map((s) => ({
      mem: s.mem,
      len: s.buf.length,
      sha256: digest(s.buf),
    }))
    : [];
  const stackPage = input.verify ? infoPlace.end - PURGATORY_SIZE : undefined;
  segments.push({
    name: "purgatory",
    buf: buildPurgatory({
      entry64: entryPlace.start,
      bootParams: infoPlace.start,
      verify,
      ...(stackPage === undefined ? {} : { stackPage }),
    }),
    mem: purgatoryPlace.start,
    memsz: purgatoryPlace.end - purgatoryPlace.start,
  });
  notes.push(
    `purgatory: ${hex(purgatoryPlace.start)} (entry); ` +
      (input.verify
        ? `checks SHA-256 of ${verify.length} segments, then jumps to the entry page`
        : "no digest check (-i); jumps to the entry page"),
  );

  segments.sort((a, b) => a.mem - b.mem);
  notes.push("segments:", ...segmentTableLines(segments));
  return {
    syscall: "kexec_load",
    entry: purgatoryPlace.start,
    segments,
    flags: X86_64_ABI.kexecArch,
    cmdline,
    notes,
  };
}
