/**
 * The arm64 purgatory page for `kexec_load`: our own position-independent
 * trampoline. The kernel's relocate code enters it with the MMU off and x0
 * meaningless (kexec_load never sets `kimage->arch.dtb_mem`); it checks the
 * SHA-256 of the other segments, then branches to the kernel with x0 = DTB
 * and x1 = x2 = x3 = 0 as Documentation/arch/arm64/booting.rst requires. The
 * code is `purgatory.S`, assembled into `purgatory_blob.ts`; this module only
 * fills its slots. Layout and register contract: PURGATORY.md beside this
 * file.
 *
 * @module
 */

import {
  checkPurgatoryAddress,
  decodeBlobHex,
  type PurgatoryRegion,
  type RegionTableLayout,
  writeRegionTable,
} from "../purgatory_regions.ts";
import * as blob from "./purgatory_blob.ts";

export type { PurgatoryRegion } from "../purgatory_regions.ts";

/** Size of the purgatory segment (bufsz = memsz); `entry` = its first byte. */
export const ARM64_PURGATORY_SIZE: 4096 = blob.PURGATORY_PAGE_SIZE;

/** Regions the page can verify: kexec allows 16 segments and one is the page itself. */
export const ARM64_PURGATORY_MAX_REGIONS: 15 = blob.PURGATORY_MAX_REGIONS;

/**
 * Alignment of a region's `mem`. With the MMU off every data access is
 * Device memory, where an unaligned load faults; the page reads the message
 * with paired 32-bit loads from 8-byte aligned addresses. Segments are
 * page-aligned anyway.
 */
export const ARM64_PURGATORY_REGION_ALIGN = 8;

/** What the loader writes into the page. */
export interface Arm64PurgatoryConfig {
  /**
   * Physical address to branch to: the 2 MiB aligned kernel base +
   * `text_offset` from the Image header (booting.rst), i.e. the address of
   * the Image's first byte (`code0`). 4-byte aligned, nonzero.
   */
  kernelEntry: number;
  /** Physical address of the DTB, passed in x0: 8-byte aligned (booting.rst), nonzero. */
  dtb: number;
  /**
   * Digests checked before the branch; `[]` = no check (`-i`). At most
   * {@link ARM64_PURGATORY_MAX_REGIONS}, each `mem` 8-byte aligned.
   */
  verify: readonly PurgatoryRegion[];
}

const BLOB = decodeBlobHex(blob.PURGATORY_BLOB_HEX, blob.PURGATORY_PAGE_SIZE);

const TABLE: RegionTableLayout = {
  countOffset: blob.PURGATORY_REGION_COUNT_OFFSET,
  regionsOffset: blob.PURGATORY_REGIONS_OFFSET,
  entrySize: blob.PURGATORY_REGION_SIZE,
  memField: blob.PURGATORY_REGION_MEM,
  lenField: blob.PURGATORY_REGION_LEN,
  sha256Field: blob.PURGATORY_REGION_SHA256,
  maxRegions: blob.PURGATORY_MAX_REGIONS,
};

/**
 * The 4096-byte position-independent arm64 purgatory page with its slots
 * filled in. Throws a {@link KexecError} for more than
 * {@link ARM64_PURGATORY_MAX_REGIONS} regions, a digest that is not 32 bytes,
 * an address or length that is not a non-negative safe integer, a zero or
 * misaligned `kernelEntry` or `dtb`, or a region `mem` that is not 8-byte
 * aligned.
 *
 * @example
 * ```ts
 * import { ARM64_PURGATORY_SIZE, buildArm64Purgatory } from "./purgatory.ts";
 * import { PURGATORY_DTB_OFFSET, PURGATORY_KERNEL_ENTRY_OFFSET } from "./purgatory_blob.ts";
 * const page = buildArm64Purgatory({ kernelEntry: 0x40200000, dtb: 0x48000000, verify: [] });
 * const view = new DataView(page.buffer);
 * if (page.length !== ARM64_PURGATORY_SIZE) throw new Error("wrong size");
 * if (view.getBigUint64(PURGATORY_KERNEL_ENTRY_OFFSET, true) !== 0x40200000n) {
 *   throw new Error("kernel entry slot not written");
 * }
 * if (view.getBigUint64(PURGATORY_DTB_OFFSET, true) !== 0x48000000n) {
 *   throw new Error("dtb slot not written");
 * }
 * ```
 */
export function buildArm64Purgatory(config: Arm64PurgatoryConfig): Uint8Array {
  const kernelEntry = checkPurgatoryAddress("kernelEntry", config.kernelEntry, { alignment: 4 });
  const dtb = checkPurgatoryAddress("dtb", config.dtb, { alignment: 8 });
  const page = BLOB.slice();
  writeRegionTable(page, TABLE, config.verify, ARM64_PURGATORY_REGION_ALIGN);
  const view = new DataView(page.buffer);
  view.setBigUint64(blob.PURGATORY_KERNEL_ENTRY_OFFSET, BigInt(kernelEntry), true);
  view.setBigUint64(blob.PURGATORY_DTB_OFFSET, BigInt(dtb), true);
  return page;
}
