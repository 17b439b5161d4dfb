/**
 * Property values: big-endian u32 cells, u64s, NUL-terminated strings and
 * `reg`-style (address, size) lists (Devicetree Specification v0.4, 2.2.4
 * "Property Values" and 2.3.5/2.3.6 on #address-cells, #size-cells and reg).
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { hex } from "../format.ts";
import type { Fdt, FdtProperty } from "./tree.ts";
import { getProperty } from "./tree.ts";

/** A physical range in a `reg`-style property. */
export interface FdtRange {
  /** Start address. */
  readonly start: number;
  /** Size in bytes. */
  readonly size: number;
}

/** The root node's `#address-cells` and `#size-cells`. */
export interface RootCells {
  readonly addressCells: number;
  readonly sizeCells: number;
}

const CELL = 4;
const TWO_32 = 2 ** 32;
const utf8 = new TextDecoder();

function propertyError(property: FdtProperty, what: string): KexecError {
  return new KexecError(`device tree: property '${property.name}' ${what}`, {
    hint: "the device tree is malformed; give a valid one with --dtb",
  });
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkUnsigned(value: number, max: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new KexecError(`device tree: ${what} ${value} does not fit (0 to ${hex(max)})`);
  }
}

/**
 * A one-cell value: `n` as a big-endian u32.
 *
 * @example
 * ```ts
 * import { fdtU32 } from "./values.ts";
 * if (fdtU32(0x12345678).join() !== "18,52,86,120") throw new Error();
 * ```
 */
export function fdtU32(n: number): Uint8Array {
  checkUnsigned(n, TWO_32 - 1, "u32 value");
  const bytes = new Uint8Array(CELL);
  viewOf(bytes).setUint32(0, n);
  return bytes;
}

/**
 * A two-cell value: `n` as a big-endian u64.
 *
 * @example
 * ```ts
 * import { fdtU64 } from "./values.ts";
 * if (fdtU64(0x1_0000_0002).join() !== "0,0,0,1,0,0,0,2") throw new Error();
 * if (fdtU64(0xffffffffffffffffn)[7] !== 255) throw new Error();
 * ```
 */
export function fdtU64(n: number | bigint): Uint8Array {
  if (typeof n === "number") checkUnsigned(n, Number.MAX_SAFE_INTEGER, "u64 value");
  else if (n < 0n || n >= 1n << 64n) {
    throw new KexecError(`device tree: u64 value ${n} out of range`);
  }
  const bytes = new Uint8Array(2 * CELL);
  viewOf(bytes).setBigUint64(0, BigInt(n));
  return bytes;
}

/**
 * A string value: UTF-8 and a terminating NUL.
 *
 * @example
 * ```ts
 * import { fdtString } from "./values.ts";
 * if (fdtString("ok").join() !== "111,107,0") throw new Error();
 * ```
 */
export function fdtString(text: string): Uint8Array {
  if (text.includes("\0")) throw new KexecError("device tree: a string value contains a NUL");
  const encoded = new TextEncoder().encode(text);
  const bytes = new Uint8Array(encoded.length + 1);
  bytes.set(encoded);
  return bytes;
}

/**
 * The value of a one-cell property.
 *
 * @example
 * ```ts
 * import { fdtU32, readU32 } from "./values.ts";
 * if (readU32({ name: "#size-cells", value: fdtU32(2) }) !== 2) throw new Error();
 * ```
 */
export function readU32(property: FdtProperty): number {
  if (property.value.length !== CELL) {
    throw propertyError(property, `is ${property.value.length} bytes, not one cell`);
  }
  return viewOf(property.value).getUint32(0);
}

/**
 * The value of a one- or two-cell property as a number of up to 64 bits,
 * read as the kernel's of_read_number does for `linux,initrd-start`
 * (include/linux/of.h): u32 and u64 are both accepted.
 *
 * @example
 * ```ts
 * import { fdtU32, fdtU64, readU64 } from "./values.ts";
 * if (readU64({ name: "a", value: fdtU64(0x1_0000_0000) }) !== 0x1_0000_0000n) throw new Error();
 * if (readU64({ name: "a", value: fdtU32(7) }) !== 7n) throw new Error();
 * ```
 */
export function readU64(property: FdtProperty): bigint {
  const view = viewOf(property.value);
  if (property.value.length === CELL) return BigInt(view.getUint32(0));
  if (property.value.length === 2 * CELL) return view.getBigUint64(0);
  throw propertyError(property, `is ${property.value.length} bytes, not one or two cells`);
}

/**
 * The value of a string property (UTF-8, NUL-terminated).
 *
 * @example
 * ```ts
 * import { fdtString, readString } from "./values.ts";
 * if (readString({ name: "model", value: fdtString("linux,dummy-virt") }) !== "linux,dummy-virt") {
 *   throw new Error();
 * }
 * ```
 */
export function readString(property: FdtProperty): string {
  const { value } = property;
  if (
    value.length === 0 || value[value.length - 1] !== 0 || value.indexOf(0) !== value.length - 1
  ) {
    throw propertyError(property, "is not one NUL-terminated string");
  }
  return utf8.decode(value.subarray(0, value.length - 1));
}

/**
 * The strings of a string-list property such as `compatible`.
 *
 * @example
 * ```ts
 * import { readStringList } from "./values.ts";
 * const value = new TextEncoder().encode("arm,psci-1.0\0arm,psci\0");
 * if (readStringList({ name: "compatible", value }).join("|") !== "arm,psci-1.0|arm,psci") {
 *   throw new Error();
 * }
 * ```
 */
export function readStringList(property: FdtProperty): string[] {
  const { value } = property;
  if (value.length === 0) return [];
  if (value[value.length - 1] !== 0) throw propertyError(property, "does not end with a NUL");
  return utf8.decode(value.subarray(0, value.length - 1)).split("\0");
}

/**
 * The cells of a property as numbers.
 *
 * @example
 * ```ts
 * import { readCells } from "./values.ts";
 * const value = new Uint8Array([0, 0, 0, 1, 0, 0, 0x80, 2]);
 * if (readCells({ name: "interrupts", value }).join() !== "1,32770") throw new Error();
 * ```
 */
export function readCells(property: FdtProperty): number[] {
  if (property.value.length % CELL !== 0) {
    throw propertyError(property, `is ${property.value.length} bytes, not whole cells`);
  }
  const view = viewOf(property.value);
  return Array.from({ length: property.value.length / CELL }, (_, i) => view.getUint32(i * CELL));
}

/**
 * The root node's `#address-cells` and `#size-cells`, which give the format
 * of `reg`-style properties in `/chosen`. Refused when either is missing: the
 * defaults disagree (the spec and libfdt's writer say 2 and 1, Linux's early
 * reader in drivers/of/fdt.c says 1 and 1 on arm64), so a guess could hand
 * the next kernel addresses it reads wrongly.
 *
 * @example
 * ```ts
 * import { emptyFdt, setProperty } from "./tree.ts";
 * import { fdtU32, rootCells } from "./values.ts";
 * const fdt = emptyFdt();
 * setProperty(fdt.root, "#address-cells", fdtU32(2));
 * setProperty(fdt.root, "#size-cells", fdtU32(2));
 * const cells = rootCells(fdt);
 * if (cells.addressCells !== 2 || cells.sizeCells !== 2) throw new Error();
 * ```
 */
export function rootCells(fdt: Fdt): RootCells {
  const read = (name: string) => {
    const property = getProperty(fdt.root, name);
    if (property === undefined) {
      throw new KexecError(`device tree: the root node has no ${name}`, {
        hint: "the next kernel and libfdt assume different defaults; give a device tree " +
          "whose root states #address-cells and #size-cells",
      });
    }
    return readU32(property);
  };
  return { addressCells: read("#address-cells"), sizeCells: read("#size-cells") };
}

function checkCells(cells: RootCells): void {
  for (
    const [what, n] of [["#address-cells", cells.addressCells], ["#size-cells", cells.sizeCells]]
  ) {
    if (n !== 1 && n !== 2) {
      throw new KexecError(`device tree: root ${what} is ${n}; only 1 or 2 cells are supported`, {
        hint: "give a device tree whose root uses 1 or 2 cells (arm64 ones use 2)",
      });
    }
  }
}

/**
 * `ranges` as a `reg`-style value with the given cell counts (1 or 2 each,
 * as libfdt's fdt_appendprop_addrrange allows). With one address cell a
 * range must end at or below 4 GiB; with one size cell a size must fit 32 bits.
 *
 * @example
 * ```ts
 * import { encodeRanges } from "./values.ts";
 * const v = encodeRanges([{ start: 0x1_4000_0000, size: 0x1000 }], { addressCells: 2, sizeCells: 1 });
 * if (v.join() !== "0,0,0,1,64,0,0,0,0,0,16,0") throw new Error();
 * ```
 */
export function encodeRanges(ranges: readonly FdtRange[], cells: RootCells): Uint8Array {
  checkCells(cells);
  const entry = (cells.addressCells + cells.sizeCells) * CELL;
  const bytes = new Uint8Array(ranges.length * entry);
  const view = viewOf(bytes);
  ranges.forEach((range, i) => {
    const at = i * entry;
    if (cells.addressCells === 1) {
      checkUnsigned(range.start, TWO_32 - 1, "address");
      checkUnsigned(range.size, TWO_32 - range.start, "size with one address cell");
      view.setUint32(at, range.start);
    } else {
      checkUnsigned(range.start, Number.MAX_SAFE_INTEGER, "address");
      view.setBigUint64(at, BigInt(range.start));
    }
    const sizeAt = at + cells.addressCells * CELL;
    if (cells.sizeCells === 1) {
      checkUnsigned(range.size, TWO_32 - 1, "size");
      view.setUint32(sizeAt, range.size);
    } else {
      checkUnsigned(range.size, Number.MAX_SAFE_INTEGER, "size");
      view.setBigUint64(sizeAt, BigInt(range.size));
    }
  });
  return bytes;
}

/**
 * The ranges of a `reg`-style value with the given cell counts (1 or 2 each).
 *
 * @example
 * ```ts
 * import { decodeRanges, encodeRanges } from "./values.ts";
 * const cells = { addressCells: 2, sizeCells: 2 };
 * const ranges = decodeRanges({ name: "reg", value: encodeRanges([{ start: 0x40000000, size: 0x20000000 }], cells) }, cells);
 * if (ranges[0].start !== 0x40000000 || ranges[0].size !== 0x20000000) throw new Error();
 * ```
 */
export function decodeRanges(property: FdtProperty, cells: RootCells): FdtRange[] {
  checkCells(cells);
  const entry = (cells.addressCells + cells.sizeCells) * CELL;
  const { value } = property;
  if (value.length % entry !== 0) {
    throw propertyError(property, `is ${value.length} bytes, not a list of ${entry}-byte ranges`);
  }
  const view = viewOf(value);
  const read = (at: number, n: number) => {
    const v = n === 1 ? BigInt(view.getUint32(at)) : view.getBigUint64(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw propertyError(property, `holds ${hex(v)}, beyond any physical address`);
    }
    return Number(v);
  };
  return Array.from({ length: value.length / entry }, (_, i) => {
    const at = i * entry;
    return {
      start: read(at, cells.addressCells),
      size: read(at + cells.addressCells * CELL, cells.sizeCells),
    };
  });
}
