/**
 * The x86_64 purgatory page for `kexec_load`: our own position-independent
 * trampoline (own GDT and stack, SHA-256 check of the other segments, then
 * `%rsi` = boot_params and a jump to the kernel's 64-bit entry). The code is
 * `purgatory.S`, assembled into `purgatory_blob.ts`; this module only fills
 * its data slots. Layout and register contract: PURGATORY.md beside this file;
 * x86_64-boot.md sections 8-11.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import * as blob from "./purgatory_blob.ts";

/** Size of the purgatory segment (bufsz = memsz); `entry` = its first byte. */
export const PURGATORY_SIZE: 4096 = blob.PURGATORY_PAGE_SIZE;

/** Regions the page can verify: kexec allows 16 segments and one is the page itself. */
export const PURGATORY_MAX_REGIONS: 15 = blob.PURGATORY_MAX_REGIONS;

const SHA256_BYTES = 32;

/** One range of physical memory the purgatory hashes before the jump. */
export interface PurgatoryRegion {
  /** Physical start address. */
  mem: number;
  /** Length in bytes (a segment's memsz, or the part of it that matters). */
  len: number;
  /** Expected SHA-256 of `[mem, mem + len)`: 32 bytes. */
  sha256: Uint8Array;
}

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
}

const BLOB = decodeHex(blob.PURGATORY_BLOB_HEX);

function decodeHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

function invalid(message: string): KexecError {
  return new KexecError(`purgatory: ${message}`, {
    hint: "this is a bug in the load planner; run with -d and report it",
  });
}

function checkAddress(what: string, value: unknown, allowZero: boolean): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${what} must be a non-negative safe integer, got ${String(value)}`);
  }
  if (value === 0 && !allowZero) {
    throw invalid(`${what} is 0 (not set?)`);
  }
  return value;
}

function checkRegion(region: PurgatoryRegion, i: number): PurgatoryRegion {
  const mem = checkAddress(`region ${i} mem`, region.mem, true);
  const len = checkAddress(`region ${i} len`, region.len, true);
  if (!(region.sha256 instanceof Uint8Array) || region.sha256.length !== SHA256_BYTES) {
    throw invalid(`region ${i} sha256 must be ${SHA256_BYTES} bytes`);
  }
  return { mem, len, sha256: region.sha256 };
}

/** The stack page as a slot value (0 = none), or why it cannot be used. */
function checkStackPage(stackPage: unknown, regions: readonly PurgatoryRegion[]): number {
  if (stackPage === undefined) return 0;
  const at = checkAddress("stackPage", stackPage, false);
  if (at % PURGATORY_SIZE !== 0) {
    throw invalid(`stackPage 0x${at.toString(16)} is not page-aligned`);
  }
  // The stack is written before the regions are hashed.
  const hit = regions.findIndex((r) => r.mem < at + PURGATORY_SIZE && at < r.mem + r.len);
  if (hit >= 0) {
    throw invalid(`stackPage 0x${at.toString(16)} overlaps verified region ${hit}`);
  }
  return at;
}

/**
 * The 4096-byte position-independent purgatory page with slots filled in.
 * Throws a {@link KexecError} for more than {@link PURGATORY_MAX_REGIONS}
 * regions, a digest that is not 32 bytes, or an address or length that is not
 * a non-negative safe integer (entry64 and bootParams must also be nonzero),
 * or a `stackPage` that is not a page-aligned nonzero address clear of every
 * region.
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
  const entry64 = checkAddress("entry64", config.entry64, false);
  const bootParams = checkAddress("bootParams", config.bootParams, false);
  if (!Array.isArray(config.verify)) throw invalid("verify must be an array of regions");
  if (config.verify.length > PURGATORY_MAX_REGIONS) {
    throw invalid(
      `${config.verify.length} regions to verify, the page holds at most ${PURGATORY_MAX_REGIONS}`,
    );
  }
  const regions = config.verify.map(checkRegion);
  const stackPage = checkStackPage(config.stackPage, regions);

  const page = new Uint8Array(PURGATORY_SIZE);
  page.set(BLOB);
  const view = new DataView(page.buffer);
  view.setBigUint64(blob.PURGATORY_ENTRY64_OFFSET, BigInt(entry64), true);
  view.setBigUint64(blob.PURGATORY_BOOT_PARAMS_OFFSET, BigInt(bootParams), true);
  view.setBigUint64(blob.PURGATORY_REGION_COUNT_OFFSET, BigInt(regions.length), true);
  view.setBigUint64(blob.PURGATORY_STACK_PAGE_OFFSET, BigInt(stackPage), true);
  regions.forEach((region, i) => {
    const entry = blob.PURGATORY_REGIONS_OFFSET + i * blob.PURGATORY_REGION_SIZE;
    view.setBigUint64(entry + blob.PURGATORY_REGION_MEM, BigInt(region.mem), true);
    view.setBigUint64(entry + blob.PURGATORY_REGION_LEN, BigInt(region.len), true);
    page.set(region.sha256, entry + blob.PURGATORY_REGION_SHA256);
  });
  return page;
}
