/**
 * The boot_params `setup_data` linked list (Documentation/arch/x86/boot.rst,
 * field `setup_data`; arch/x86/include/uapi/asm/setup_data.h): nodes
 * `{u64 next; u32 type; u32 len; u8 data[len]}` chained by physical address.
 *
 * @module
 */

import { alignUp } from "../../memory/allocator.ts";

/** setup_data node types the loader may write. */
export const SETUP_DATA_TYPE = {
  NONE: 0,
  E820_EXT: 1,
  DTB: 2,
  PCI: 3,
  EFI: 4,
  APPLE_PROPERTIES: 5,
  JAILHOUSE: 6,
  CC_BLOB: 7,
  IMA: 8,
  RNG_SEED: 9,
} as const;

/** Node header layout. */
export const SETUP_DATA_HEADER = {
  next: 0x00,
  type: 0x08,
  len: 0x0c,
  /** Header size; data follows. */
  length: 16,
} as const;

// Nodes start on 16-byte boundaries so the u64 `next` is naturally aligned.
const SETUP_DATA_ALIGN = 16;

/** One node to write. */
export interface SetupDataNode {
  readonly type: number;
  readonly data: Uint8Array;
}

/** Where each node went and the list head to store in boot_params (0x250). */
export interface SetupDataLayout {
  /** Physical address of the first node, 0 when there are none. */
  readonly head: number;
  /** Physical address of each node, in input order. */
  readonly addresses: number[];
  /** Bytes used from the start offset (the end of the last node). */
  readonly size: number;
}

/**
 * Bytes needed to hold the nodes starting at a 16-byte aligned offset.
 *
 * @example
 * ```ts
 * import { setupDataSize } from "./setup_data.ts";
 * const n = setupDataSize([{ type: 9, data: new Uint8Array(32) }, { type: 1, data: new Uint8Array(20) }]);
 * if (n !== 48 + 36) throw new Error(String(n));
 * ```
 */
export function setupDataSize(nodes: readonly SetupDataNode[]): number {
  let size = 0;
  for (const node of nodes) {
    size = alignUp(size, SETUP_DATA_ALIGN) + SETUP_DATA_HEADER.length + node.data.length;
  }
  return size;
}

/**
 * Writes the nodes into `target` from `offset` (16-byte aligned), where
 * `target[0]` will sit at physical address `targetAddress`; chains them in
 * order, the last with `next` = 0.
 *
 * @example
 * ```ts
 * import { writeSetupData } from "./setup_data.ts";
 * const page = new Uint8Array(4096);
 * const seed = new Uint8Array(32).fill(7);
 * const layout = writeSetupData(page, 0x800, 0x99b000, [{ type: 9, data: seed }]);
 * const v = new DataView(page.buffer);
 * if (layout.head !== 0x99b800 || v.getUint32(0x808, true) !== 9 || page[0x810] !== 7) {
 *   throw new Error();
 * }
 * ```
 */
export function writeSetupData(
  target: Uint8Array,
  offset: number,
  targetAddress: number,
  nodes: readonly SetupDataNode[],
): SetupDataLayout {
  if (offset % SETUP_DATA_ALIGN !== 0) {
    throw new RangeError(`setup_data offset ${offset} is not ${SETUP_DATA_ALIGN}-byte aligned`);
  }
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  const offsets: number[] = [];
  let cursor = offset;
  for (const node of nodes) {
    cursor = alignUp(cursor, SETUP_DATA_ALIGN);
    offsets.push(cursor);
    cursor += SETUP_DATA_HEADER.length + node.data.length;
  }
  if (cursor > target.length) {
    throw new RangeError(`setup_data needs ${cursor} bytes, the buffer has ${target.length}`);
  }
  const addresses = offsets.map((o) => targetAddress + o);
  nodes.forEach((node, i) => {
    const at = offsets[i];
    view.setBigUint64(at + SETUP_DATA_HEADER.next, BigInt(addresses[i + 1] ?? 0), true);
    view.setUint32(at + SETUP_DATA_HEADER.type, node.type, true);
    view.setUint32(at + SETUP_DATA_HEADER.len, node.data.length, true);
    target.set(node.data, at + SETUP_DATA_HEADER.length);
  });
  return { head: addresses[0] ?? 0, addresses, size: cursor - offset };
}
