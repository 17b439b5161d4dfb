/**
 * Where a Multiboot kernel's bytes go and where it starts: from its ELF
 * program headers, or from the header's address fields (Multiboot 0.6.96,
 * 3.1.3 "The address fields of Multiboot header", the "a.out kludge" of
 * flags bit 16; Multiboot2 2.0, 3.1.5 "The address tag of Multiboot2
 * header"), which win over ELF when present. The pieces are views of the
 * image; nothing is copied here.
 *
 * @module
 */

import { KexecError } from "../../../errors.ts";
import { hex } from "../../../format.ts";
import { isElf, readMultibootElf } from "./elf.ts";

/** Bytes of the image that go to `paddr`; the rest of `memsz` is zero (bss). */
export interface KernelPiece {
  readonly paddr: number;
  /** A view of the image. */
  readonly bytes: Uint8Array;
  readonly memsz: number;
}

/** The kernel as it will lie in memory. */
export interface KernelLayout {
  /** Pieces sorted by address, not overlapping. */
  readonly pieces: readonly KernelPiece[];
  /** Physical entry point. */
  readonly entry: number;
  /** Lowest address used. */
  readonly start: number;
  /** First address after the highest byte used. */
  readonly end: number;
  /** How the layout was read, for the notes. */
  readonly source: string;
}

/** The address fields of either version (Multiboot2's address tag has no entry). */
export interface AddressFields {
  readonly headerAddr: number;
  readonly loadAddr: number;
  readonly loadEndAddr: number;
  readonly bssEndAddr: number;
}

const FOUR_GiB = 2 ** 32;

function fail(path: string, what: string, hint: string): KexecError {
  return new KexecError(`kernel ${path}: ${what}`, { hint });
}

/**
 * The layout given by the address fields of a header found at file offset
 * `headerOffset`: the file from `headerOffset - (header_addr - load_addr)`
 * goes to `load_addr`, up to `load_end_addr` (0: the end of the file), and
 * memory up to `bss_end_addr` (0: none) is zeroed. Throws a
 * {@link KexecError} naming the file when the fields contradict each other
 * or the file, or the entry point lies outside the image.
 *
 * @example
 * ```ts
 * import { layoutFromAddressFields } from "./image.ts";
 * const image = new Uint8Array(0x1000);
 * const l = layoutFromAddressFields(image, "k.bin", 0x10, {
 *   headerAddr: 0x100010, loadAddr: 0x100000, loadEndAddr: 0, bssEndAddr: 0x104000,
 * }, 0x100040);
 * if (l.pieces[0].bytes.length !== 0x1000 || l.end !== 0x104000) throw new Error();
 * ```
 */
export function layoutFromAddressFields(
  image: Uint8Array,
  path: string,
  headerOffset: number,
  fields: AddressFields,
  entry: number,
): KernelLayout {
  const { headerAddr, loadAddr, loadEndAddr, bssEndAddr } = fields;
  const hint = "the header's address fields are inconsistent; rebuild the kernel";
  if (loadAddr > headerAddr || headerAddr - loadAddr > headerOffset) {
    throw fail(
      path,
      `load_addr ${hex(loadAddr)} and header_addr ${hex(headerAddr)} put the start of the ` +
        `text before the start of the file (header at file offset ${hex(headerOffset)})`,
      hint,
    );
  }
  const fileStart = headerOffset - (headerAddr - loadAddr);
  const available = image.length - fileStart;
  const length = loadEndAddr === 0 ? available : loadEndAddr - loadAddr;
  if (loadEndAddr !== 0 && (loadEndAddr <= headerAddr || length > available)) {
    throw fail(
      path,
      `load_end_addr ${hex(loadEndAddr)} ${
        loadEndAddr <= headerAddr ? "is not past the header" : "lies beyond the end of the file"
      }`,
      loadEndAddr <= headerAddr ? hint : "the file is truncated",
    );
  }
  const textEnd = loadAddr + length;
  if (bssEndAddr !== 0 && bssEndAddr < textEnd) {
    throw fail(path, `bss_end_addr ${hex(bssEndAddr)} lies before load_end ${hex(textEnd)}`, hint);
  }
  const end = Math.max(textEnd, bssEndAddr);
  if (end > FOUR_GiB) {
    throw fail(path, `the image would reach above 4 GiB (to ${hex(end)})`, hint);
  }
  checkEntry(path, entry, [{ paddr: loadAddr, memsz: end - loadAddr }]);
  return {
    pieces: [{
      paddr: loadAddr,
      bytes: image.subarray(fileStart, fileStart + length),
      memsz: end - loadAddr,
    }],
    entry,
    start: loadAddr,
    end,
    source: `address fields: file offset ${hex(fileStart)} to ${hex(loadAddr)}, ` +
      `${hex(length)} bytes, bss to ${hex(end)}`,
  };
}

/**
 * The layout of an ELF kernel: every `PT_LOAD` at its physical address.
 * `entryOverride` (Multiboot2's entry address tag) replaces `e_entry`. Throws
 * a {@link KexecError} for what {@link readMultibootElf} refuses, overlapping
 * segments, or an entry outside them.
 *
 * @example
 * ```ts
 * import { layoutFromElf } from "./image.ts";
 * let message = "";
 * try { layoutFromElf(new Uint8Array(16), "k"); } catch (e) { message = (e as Error).message; }
 * if (!message.includes("ELF")) throw new Error(message);
 * ```
 */
export function layoutFromElf(
  image: Uint8Array,
  path: string,
  entryOverride?: number,
): KernelLayout {
  if (!isElf(image)) {
    throw fail(
      path,
      "is not ELF and its Multiboot header has no address fields, so where it loads is unknown",
      "build the kernel as ELF, or set the header's address fields (a.out kludge)",
    );
  }
  const elf = readMultibootElf(image, path);
  const pieces = elf.loads.map((l) => ({
    paddr: l.paddr,
    bytes: image.subarray(l.offset, l.offset + l.filesz),
    memsz: l.memsz,
  })).sort((a, b) => a.paddr - b.paddr);
  for (let i = 1; i < pieces.length; i++) {
    const [a, b] = [pieces[i - 1], pieces[i]];
    if (a.paddr + a.memsz > b.paddr) {
      throw fail(
        path,
        `ELF load addresses overlap: [${hex(a.paddr)}, ${hex(a.paddr + a.memsz)}) and ` +
          `[${hex(b.paddr)}, ${hex(b.paddr + b.memsz)})`,
        "the program headers are corrupt; rebuild the kernel",
      );
    }
  }
  const entry = entryOverride ?? elf.entry;
  checkEntry(path, entry, pieces);
  const start = pieces[0].paddr;
  const end = Math.max(...pieces.map((p) => p.paddr + p.memsz));
  return {
    pieces,
    entry,
    start,
    end,
    source: `ELF${elf.bits}, ${pieces.length} loadable segment${pieces.length > 1 ? "s" : ""}`,
  };
}

function checkEntry(
  path: string,
  entry: number,
  pieces: readonly { paddr: number; memsz: number }[],
): void {
  if (!pieces.some((p) => entry >= p.paddr && entry < p.paddr + p.memsz)) {
    throw fail(
      path,
      `entry point ${hex(entry)} lies outside the loaded image`,
      "the header's entry address is wrong; rebuild the kernel",
    );
  }
}

/**
 * The layout moved by `delta` bytes (a relocatable Multiboot2 image loaded
 * away from its link address; 3.1.13).
 *
 * @example
 * ```ts
 * import { relocateLayout } from "./image.ts";
 * const l = relocateLayout({
 *   pieces: [{ paddr: 0x200000, bytes: new Uint8Array(4), memsz: 0x1000 }],
 *   entry: 0x200000, start: 0x200000, end: 0x201000, source: "ELF32",
 * }, 0x1000000);
 * if (l.entry !== 0x1200000 || l.pieces[0].paddr !== 0x1200000) throw new Error();
 * ```
 */
export function relocateLayout(layout: KernelLayout, delta: number): KernelLayout {
  if (delta === 0) return layout;
  return {
    ...layout,
    pieces: layout.pieces.map((p) => ({ ...p, paddr: p.paddr + delta })),
    entry: layout.entry + delta,
    start: layout.start + delta,
    end: layout.end + delta,
  };
}
