/**
 * The Multiboot entry page for `kexec_load`: position-independent code that
 * takes the CPU from the purgatory's 64-bit long mode to the 32-bit protected
 * mode (paging off) a Multiboot kernel starts in, with EAX = the magic and
 * EBX = the boot information. The code is `entry.S`, assembled into
 * `entry_blob.ts`; this module fills its three slots. MULTIBOOT.md beside
 * this file describes the chain purgatory → this page → kernel.
 *
 * @module
 */

import { decodeBlobHex, purgatoryError } from "../../purgatory_regions.ts";
import * as blob from "./entry_blob.ts";

/** Size of the entry segment; its first byte is the code's entry. */
export const MULTIBOOT_ENTRY_SIZE: 4096 = blob.MB_ENTRY_PAGE_SIZE;

/** What the loader writes into the page. */
export interface MultibootEntryConfig {
  /** The kernel's physical entry point (below 4 GiB). */
  readonly entry: number;
  /** EAX: 0x2BADB002 (Multiboot) or 0x36D76289 (Multiboot2). */
  readonly magic: number;
  /** EBX: physical address of the boot information (below 4 GiB). */
  readonly info: number;
}

const BLOB = decodeBlobHex(blob.MB_ENTRY_BLOB_HEX, blob.MB_ENTRY_PAGE_SIZE);

function u32Slot(what: string, value: number, allowZero = false): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 32 || (!allowZero && value === 0)) {
    throw purgatoryError(`Multiboot entry ${what} ${value} is not a nonzero 32-bit value`);
  }
  return value;
}

/**
 * The 4096-byte entry page with its slots filled in. Throws a KexecError when
 * a value does not fit 32 bits or is zero.
 *
 * @example
 * ```ts
 * import { buildMultibootEntry } from "./entry.ts";
 * import { MB_ENTRY_INFO_OFFSET, MB_ENTRY_MAGIC_OFFSET } from "./entry_blob.ts";
 * const page = buildMultibootEntry({ entry: 0x100000, magic: 0x2badb002, info: 0x9000 });
 * const v = new DataView(page.buffer);
 * if (v.getUint32(MB_ENTRY_MAGIC_OFFSET, true) !== 0x2badb002) throw new Error();
 * if (v.getUint32(MB_ENTRY_INFO_OFFSET, true) !== 0x9000) throw new Error();
 * ```
 */
export function buildMultibootEntry(config: MultibootEntryConfig): Uint8Array {
  const page = BLOB.slice();
  const view = new DataView(page.buffer);
  view.setUint32(blob.MB_ENTRY_ENTRY_OFFSET, u32Slot("entry", config.entry, true), true);
  view.setUint32(blob.MB_ENTRY_MAGIC_OFFSET, u32Slot("magic", config.magic), true);
  view.setUint32(blob.MB_ENTRY_INFO_OFFSET, u32Slot("info", config.info), true);
  return page;
}
