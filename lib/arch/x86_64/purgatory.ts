/**
 * The x86_64 purgatory page for `kexec_load`: our own position-independent
 * trampoline (own GDT and stack, SHA-256 check of the other segments, then
 * `%rsi` = boot_params and a jump to the kernel's 64-bit entry). The code is
 * `purgatory.S`, assembled into `purgatory_blob.ts`; this module only fills
 * its data slots. Layout and register contract: PURGATORY.md beside this file;
 * the entry state it must reach: Documentation/arch/x86/boot.rst, "64-bit Boot
 * Protocol".
 *
 * @module
 */

import {
  checkPurgatoryAddress,
  decodeBlobHex,
  purgatoryError,
  type PurgatoryRegion,
  type RegionTableLayout,
  writeRegionTable,
} from "../purgatory_regions.ts";
import * as blob from "./purgatory_blob.ts";

export type { PurgatoryRegion } from "../purgatory_regions.ts";

/** Size of the purgatory segment (bufsz = memsz); `entry` = its first byte. */
export const PURGATORY_SIZE: 4096 = blob.PURGATORY_PAGE_SIZE;

/** Regions the page can verify: kexec allows 16 segments and one is the page itself. */
export const PURGATORY_MAX_REGIONS: 15 = blob.PURGATORY_MAX_REGIONS;

/** What the loader writes into the page. */
export interface PurgatoryConfig {
  /** Physical address to jump to = kernel load address + 0x200. */
  entry64: number;
  /** Physical address of boot_params (goes to %rsi). */
  bootParams: number;
  /** Digests checked before the jump; `[]` = no check (`-i`). */
  verify: readonly PurgatoryRegion[];
  /**
   * Optional: physical address of a page-aligned 4 KiB page (e.g. a zero-filled
   * segment of its own) the purgatory uses as its stack instead of the end of
   * its own page. Without it every stack store lands on the page the code runs
   * from, which QEMU TCG handles on a slow path: hashing there is ~40× slower
   * (about 2.5 MB/s instead of 100 MB/s). Must not overlap a verified region.
   */
  stackPage?: number;
  /**
   * Only for loads with KEXEC_PRESERVE_CONTEXT (kexec jump): the page then
   * carries its kexec-jump part and is entered at
   * {@link PURGATORY_KJUMP_ENTRY}; it saves the caller's return address and,
   * after the digests matched, appends ` kexec_jump_back_entry=0x…` at
   * `cmdlineEnd`, the physical address of the command line's NUL, followed by
   * {@link PURGATORY_KJUMP_ROOM} - 1 reserved zero bytes. Needs `stackPage`
   * (the part occupies the page's own stack area). Without it the page is
   * exactly the page of a normal or crash load.
   */
  kjump?: { cmdlineEnd: number };
}

/** Offset of the entry point of preserve-context pages (kexec_load `entry` = page + this). */
export const PURGATORY_KJUMP_ENTRY: number = blob.PURGATORY_KJUMP_START_OFFSET;

/** Bytes the kexec-jump part may write at the command line's NUL, its own NUL included. */
export const PURGATORY_KJUMP_ROOM: number = blob.PURGATORY_KJUMP_APPEND_MAX;

const BLOB = decodeBlobHex(blob.PURGATORY_BLOB_HEX, blob.PURGATORY_PAGE_SIZE);
// Every page but a preserve-context one: the kexec-jump part left as zeros.
const BASE = BLOB.slice();
BASE.fill(0, blob.PURGATORY_KJUMP_OFFSET, blob.PURGATORY_KJUMP_END_OFFSET);

const TABLE: RegionTableLayout = {
  countOffset: blob.PURGATORY_REGION_COUNT_OFFSET,
  regionsOffset: blob.PURGATORY_REGIONS_OFFSET,
  entrySize: blob.PURGATORY_REGION_SIZE,
  memField: blob.PURGATORY_REGION_MEM,
  lenField: blob.PURGATORY_REGION_LEN,
  sha256Field: blob.PURGATORY_REGION_SHA256,
  maxRegions: blob.PURGATORY_MAX_REGIONS,
};

/** The stack page as a slot value (0 = none), or why it cannot be used. */
function checkStackPage(stackPage: unknown, regions: readonly PurgatoryRegion[]): number {
  if (stackPage === undefined) return 0;
  const at = checkPurgatoryAddress("stackPage", stackPage);
  if (at % PURGATORY_SIZE !== 0) {
    throw purgatoryError(`stackPage 0x${at.toString(16)} is not page-aligned`);
  }
  // The stack is written before the regions are hashed.
  const hit = regions.findIndex((r) => r.mem < at + PURGATORY_SIZE && at < r.mem + r.len);
  if (hit >= 0) {
    throw purgatoryError(`stackPage 0x${at.toString(16)} overlaps verified region ${hit}`);
  }
  return at;
}

/**
 * The 4096-byte position-independent purgatory page with slots filled in.
 * Throws a {@link KexecError} for more than {@link PURGATORY_MAX_REGIONS}
 * regions, a digest that is not 32 bytes, or an address or length that is not
 * a non-negative safe integer (entry64 and bootParams must also be nonzero),
 * or a `stackPage` that is not a page-aligned nonzero address clear of every
 * region, or `kjump` without a `stackPage`.
 *
 * @example
 * ```ts
 * import { buildPurgatory, PURGATORY_SIZE } from "./purgatory.ts";
 * import { PURGATORY_BOOT_PARAMS_OFFSET } from "./purgatory_blob.ts";
 * const page = buildPurgatory({ entry64: 0x1000200, bootParams: 0x99b000, verify: [] });
 * const view = new DataView(page.buffer);
 * if (page.length !== PURGATORY_SIZE) throw new Error("wrong size");
 * if (view.getBigUint64(PURGATORY_BOOT_PARAMS_OFFSET, true) !== 0x99b000n) {
 *   throw new Error("boot_params slot not written");
 * }
 * ```
 */
export function buildPurgatory(config: PurgatoryConfig): Uint8Array {
  const entry64 = checkPurgatoryAddress("entry64", config.entry64);
  const bootParams = checkPurgatoryAddress("bootParams", config.bootParams);
  const page = (config.kjump ? BLOB : BASE).slice();
  writeRegionTable(page, TABLE, config.verify);
  const stackPage = checkStackPage(config.stackPage, config.verify);
  const view = new DataView(page.buffer);
  view.setBigUint64(blob.PURGATORY_ENTRY64_OFFSET, BigInt(entry64), true);
  view.setBigUint64(blob.PURGATORY_BOOT_PARAMS_OFFSET, BigInt(bootParams), true);
  view.setBigUint64(blob.PURGATORY_STACK_PAGE_OFFSET, BigInt(stackPage), true);
  if (config.kjump) {
    if (stackPage === 0) {
      throw purgatoryError(
        "a preserve-context page needs a stackPage (its own stack area is code)",
      );
    }
    const cmdlineEnd = checkPurgatoryAddress("kjump.cmdlineEnd", config.kjump.cmdlineEnd);
    view.setBigUint64(blob.PURGATORY_KJUMP_CMDLINE_END_OFFSET, BigInt(cmdlineEnd), true);
  }
  return page;
}
