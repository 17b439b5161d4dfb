/**
 * What every purgatory page shares, whatever its architecture: a generated
 * blob to copy, u64 slots to fill, and a region table of
 * `{u64 mem; u64 len; u8 sha256[32]}` entries the page hashes before it
 * jumps. Each architecture's `purgatory.ts` names its offsets (from its
 * generated `purgatory_blob.ts`) and passes them here.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { hex } from "../format.ts";

/** Bytes of a SHA-256 digest. */
export const SHA256_BYTES = 32;

/** One range of physical memory a purgatory hashes before the jump. */
export interface PurgatoryRegion {
  /** Physical start address. */
  mem: number;
  /** Length in bytes (a segment's bufsz, or the part of it that matters). */
  len: number;
  /** Expected SHA-256 of `[mem, mem + len)`: 32 bytes. */
  sha256: Uint8Array;
}

/** Where a page keeps its region table (offsets from the generated blob module). */
export interface RegionTableLayout {
  /** u64 slot: number of regions in use. */
  readonly countOffset: number;
  /** First table entry. */
  readonly regionsOffset: number;
  /** Bytes per entry. */
  readonly entrySize: number;
  /** Entry field offsets. */
  readonly memField: number;
  readonly lenField: number;
  readonly sha256Field: number;
  /** Entries the table holds. */
  readonly maxRegions: number;
}

/**
 * A {@link KexecError} for a purgatory config the planner should never have
 * built: the message says what, the hint says it is a bug.
 *
 * @example
 * ```ts
 * import { purgatoryError } from "./purgatory_regions.ts";
 * const e = purgatoryError("dtb is 0 (not set?)");
 * if (!e.message.startsWith("purgatory: ") || !e.hint) throw new Error(e.message);
 * ```
 */
export function purgatoryError(message: string): KexecError {
  return new KexecError(`purgatory: ${message}`, {
    hint: "this is a bug in the load planner; run with -d and report it",
  });
}

/**
 * `value` if it is a non-negative safe integer (nonzero unless `allowZero`)
 * and a multiple of `alignment`; otherwise a {@link purgatoryError}.
 *
 * @example
 * ```ts
 * import { checkPurgatoryAddress } from "./purgatory_regions.ts";
 * if (checkPurgatoryAddress("dtb", 0x48000000, { alignment: 8 }) !== 0x48000000) throw new Error();
 * let refused = false;
 * try { checkPurgatoryAddress("dtb", 0x48000004, { alignment: 8 }); } catch { refused = true; }
 * if (!refused) throw new Error("unaligned dtb accepted");
 * ```
 */
export function checkPurgatoryAddress(
  what: string,
  value: unknown,
  { allowZero = false, alignment = 1 }: { allowZero?: boolean; alignment?: number } = {},
): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw purgatoryError(`${what} must be a non-negative safe integer, got ${String(value)}`);
  }
  if (value === 0 && !allowZero) throw purgatoryError(`${what} is 0 (not set?)`);
  if (value % alignment !== 0) {
    throw purgatoryError(`${what} ${hex(value)} is not ${alignment}-byte aligned`);
  }
  return value;
}

/**
 * Checks `regions` and writes them and their count into `page`. Refuses more
 * entries than the table holds, digests that are not 32 bytes, and a `mem`
 * or `len` that is not a non-negative safe integer or a `mem` off
 * `memAlignment`, each with a {@link purgatoryError}; `page` is left
 * untouched then.
 *
 * @example
 * ```ts
 * import { writeRegionTable } from "./purgatory_regions.ts";
 * const layout = {
 *   countOffset: 0, regionsOffset: 8, entrySize: 48,
 *   memField: 0, lenField: 8, sha256Field: 16, maxRegions: 2,
 * };
 * const page = new Uint8Array(8 + 2 * 48);
 * writeRegionTable(page, layout, [{ mem: 0x1000, len: 5, sha256: new Uint8Array(32).fill(7) }]);
 * const view = new DataView(page.buffer);
 * if (view.getBigUint64(0, true) !== 1n || view.getBigUint64(8, true) !== 0x1000n) throw new Error();
 * if (page[8 + 16] !== 7) throw new Error("digest not written");
 * ```
 */
export function writeRegionTable(
  page: Uint8Array,
  layout: RegionTableLayout,
  regions: readonly PurgatoryRegion[],
  memAlignment = 1,
): void {
  if (!Array.isArray(regions)) throw purgatoryError("verify must be an array of regions");
  if (regions.length > layout.maxRegions) {
    throw purgatoryError(
      `${regions.length} regions to verify, the page holds at most ${layout.maxRegions}`,
    );
  }
  const checked = regions.map((region, i) => {
    const mem = checkPurgatoryAddress(`region ${i} mem`, region.mem, {
      allowZero: true,
      alignment: memAlignment,
    });
    const len = checkPurgatoryAddress(`region ${i} len`, region.len, { allowZero: true });
    if (!(region.sha256 instanceof Uint8Array) || region.sha256.length !== SHA256_BYTES) {
      throw purgatoryError(`region ${i} sha256 must be ${SHA256_BYTES} bytes`);
    }
    return { mem, len, sha256: region.sha256 };
  });
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  view.setBigUint64(layout.countOffset, BigInt(checked.length), true);
  checked.forEach((region, i) => {
    const entry = layout.regionsOffset + i * layout.entrySize;
    view.setBigUint64(entry + layout.memField, BigInt(region.mem), true);
    view.setBigUint64(entry + layout.lenField, BigInt(region.len), true);
    page.set(region.sha256, entry + layout.sha256Field);
  });
}

/**
 * The bytes of a generated `PURGATORY_BLOB_HEX`, zero-padded to `size` (the
 * generator leaves trailing zeros out).
 *
 * @example
 * ```ts
 * import { decodeBlobHex } from "./purgatory_regions.ts";
 * const page = decodeBlobHex("1f2003d5", 8);
 * if (page.join() !== "31,32,3,213,0,0,0,0") throw new Error(page.join());
 * ```
 */
export function decodeBlobHex(hexText: string, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < hexText.length / 2; i++) {
    bytes[i] = parseInt(hexText.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}
