/**
 * The x86_64 jump-back helper image: one page of code (jump_back.S,
 * assembled into jump_back_blob.ts) with the address to return to in its
 * slot, and zeroed pages after it for the page tables it builds. Where it goes
 * and why it has code at all: JUMP_BACK.md beside this file.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import { hex } from "../../format.ts";
import { SegmentAllocator } from "../../memory/allocator.ts";
import { formatRange, ramRanges } from "../../memory/memmap.ts";
import type { MemoryRange } from "../../memory/types.ts";
import { decodeBlobHex } from "../purgatory_regions.ts";
import type { JumpBackHelperInput, JumpBackHelperPlan } from "../types.ts";
import * as blob from "./jump_back_blob.ts";

/** Bytes the helper's segment occupies: its page and the spare table pages. */
export const JUMP_BACK_SEGMENT_SIZE: number = (1 + blob.JUMP_BACK_SPARE_PAGES) *
  blob.JUMP_BACK_PAGE_SIZE;

const PAGE = decodeBlobHex(blob.JUMP_BACK_BLOB_HEX, blob.JUMP_BACK_PAGE_SIZE);
const MiB = 0x100000;
// Entries of x86_64 page tables hold physical addresses of up to 52 bits.
const MAX_PHYSICAL = 2 ** 52;

/**
 * The helper page with `target` in its slot.
 *
 * @example
 * ```ts
 * import { buildJumpBackPage } from "./jump_back.ts";
 * import { JUMP_BACK_TARGET_OFFSET } from "./jump_back_blob.ts";
 * const page = buildJumpBackPage(0x4ffe3c5a);
 * const view = new DataView(page.buffer);
 * if (view.getBigUint64(JUMP_BACK_TARGET_OFFSET, true) !== 0x4ffe3c5an) throw new Error();
 * ```
 */
export function buildJumpBackPage(target: number): Uint8Array {
  const page = PAGE.slice();
  new DataView(page.buffer).setBigUint64(blob.JUMP_BACK_TARGET_OFFSET, BigInt(target), true);
  return page;
}

/** `ranges` without the page holding `address`. */
function withoutPage(ranges: readonly MemoryRange[], address: number, pageSize: number) {
  const start = Math.floor(address / pageSize) * pageSize;
  const end = start + pageSize;
  return ranges.flatMap((r) =>
    r.end <= start || r.start >= end ? [r] : [
      ...(r.start < start ? [{ ...r, end: start }] : []),
      ...(r.end > end ? [{ ...r, start: end }] : []),
    ]
  );
}

/**
 * Plans the jump-back helper: one segment in the running kernel's own RAM
 * (never on the page to return to), entered at its first byte. Throws a
 * {@link KexecError} for an address beyond physical memory or when no RAM is
 * free for it.
 *
 * @example
 * ```ts
 * import { JUMP_BACK_SEGMENT_SIZE, planJumpBackHelper } from "./jump_back.ts";
 * const plan = planJumpBackHelper({
 *   entry: 0x4ffe3c5a,
 *   ram: [{ start: 0x50000000, end: 0x70000000, kind: "ram" }],
 *   pageSize: 4096,
 * });
 * const [s] = plan.segments;
 * if (s.mem !== 0x70000000 - JUMP_BACK_SEGMENT_SIZE || plan.entry !== s.mem) throw new Error();
 * if (s.buf.length !== 4096 || s.memsz !== JUMP_BACK_SEGMENT_SIZE) throw new Error();
 * ```
 */
export function planJumpBackHelper(input: JumpBackHelperInput): JumpBackHelperPlan {
  const { entry, pageSize } = input;
  if (!Number.isSafeInteger(entry) || entry <= 0 || entry >= MAX_PHYSICAL) {
    throw new KexecError(`jump-back entry ${hex(entry)} is not a physical address`, {
      hint: "give the address from kexec_jump_back_entry= on the command line",
    });
  }
  const ram = withoutPage(ramRanges(input.ram), entry, pageSize);
  const allocator = new SegmentAllocator(ram, { pageSize });
  let placed;
  try {
    placed = allocator.place({
      name: "jump-back helper",
      size: JUMP_BACK_SEGMENT_SIZE,
      min: [{ address: MiB, reason: "1 MiB floor: low memory belongs to firmware" }],
      direction: "top-down",
    });
  } catch (e) {
    if (!(e instanceof KexecError)) throw e;
    throw new KexecError(`no room for the jump-back helper in this kernel's RAM: ${e.message}`, {
      hint: "the helper needs 20 KiB of RAM this kernel owns (/proc/iomem System RAM)",
    });
  }
  const segment = {
    name: "jump-back",
    buf: buildJumpBackPage(entry),
    mem: placed.start,
    memsz: placed.end - placed.start,
  };
  return {
    entry: segment.mem + blob.JUMP_BACK_START_OFFSET,
    segments: [segment],
    notes: [
      `jump-back helper at ${hex(segment.mem)} (${segment.memsz} bytes: code page and ` +
      `${blob.JUMP_BACK_SPARE_PAGES} page-table pages), in this kernel's RAM:`,
      ...ramRanges(input.ram).map((r) => `  ${formatRange(r)}`),
      `it maps the 2 MiB page holding ${hex(entry)} in a copy of the kexec page table, ` +
      "then jumps there",
    ],
  };
}
