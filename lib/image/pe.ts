/**
 * The parts of a PE/COFF file (Microsoft "PE Format" specification) that
 * EFI zboot images and Unified Kernel Images need: the machine type and the
 * section table. Section bytes are views of the file, never copies.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { hex } from "../format.ts";

/** MS-DOS stub: "MZ" at 0 and the offset of the PE signature at 0x3C (e_lfanew). */
const DOS = { magic: 0x5a4d, lfanew: 0x3c, size: 0x40 } as const;
/** "PE\0\0" read as a little-endian u32. */
const PE_SIGNATURE = 0x00004550;
/** COFF file header, right after the 4-byte signature (PE Format, "COFF File Header"). */
const COFF = {
  offset: 4,
  machine: 0,
  numberOfSections: 2,
  sizeOfOptionalHeader: 16,
  size: 20,
} as const;
/** Optional header magic values: PE32 and PE32+ (PE Format, "Optional Header"). */
const OPTIONAL_MAGIC = [0x10b, 0x20b];
/** One section table entry (PE Format, "Section Table (Section Headers)"). */
const SECTION = {
  size: 40,
  name: 0,
  nameLength: 8,
  virtualSize: 8,
  virtualAddress: 12,
  sizeOfRawData: 16,
  pointerToRawData: 20,
} as const;

/** One section header. */
export interface PeSection {
  /** Up to 8 bytes, NUL padding removed (".cmdline" uses all 8 with no NUL). */
  readonly name: string;
  /** Index in the section table. */
  readonly index: number;
  readonly virtualSize: number;
  readonly virtualAddress: number;
  readonly sizeOfRawData: number;
  readonly pointerToRawData: number;
}

/** The headers of a PE file. */
export interface PeFile {
  /** IMAGE_FILE_MACHINE_* of the COFF header. */
  readonly machine: number;
  /** The section table, in file order. */
  readonly sections: readonly PeSection[];
}

/**
 * Cheap check for "MZ" at offset 0.
 *
 * @example
 * ```ts
 * import { hasMzHeader } from "./pe.ts";
 * if (!hasMzHeader(new Uint8Array([0x4d, 0x5a])) || hasMzHeader(new Uint8Array(2))) throw new Error();
 * ```
 */
export function hasMzHeader(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x4d && bytes[1] === 0x5a;
}

/**
 * Reads the COFF header and the section table. Throws a {@link KexecError}
 * naming `path` when they are missing, cut short or out of the file.
 *
 * @example
 * ```ts
 * import { parsePe } from "./pe.ts";
 * let message = "";
 * try { parsePe(new Uint8Array(64), "/boot/x.efi"); } catch (e) { message = (e as Error).message; }
 * if (!message.startsWith("/boot/x.efi: not a PE file")) throw new Error(message);
 * ```
 */
export function parsePe(bytes: Uint8Array, path: string): PeFile {
  const fail = (what: string) =>
    new KexecError(`${path}: ${what}`, { hint: "the file is damaged or not an EFI executable" });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < DOS.size || view.getUint16(0, true) !== DOS.magic) {
    throw fail("not a PE file (no MZ header)");
  }
  const pe = view.getUint32(DOS.lfanew, true);
  const coff = pe + COFF.offset;
  if (pe < DOS.size || coff + COFF.size + 2 > bytes.length) {
    throw fail(`PE header offset ${hex(pe)} lies outside the file`);
  }
  if (view.getUint32(pe, true) !== PE_SIGNATURE) {
    throw fail(`no "PE\\0\\0" signature at ${hex(pe)}`);
  }
  const optional = coff + COFF.size;
  const optionalSize = view.getUint16(coff + COFF.sizeOfOptionalHeader, true);
  if (optionalSize < 2 || !OPTIONAL_MAGIC.includes(view.getUint16(optional, true))) {
    throw fail("no PE32 or PE32+ optional header");
  }
  const table = optional + optionalSize;
  const count = view.getUint16(coff + COFF.numberOfSections, true);
  if (table + count * SECTION.size > bytes.length) {
    throw fail(`the section table (${count} sections at ${hex(table)}) runs past the end`);
  }
  const sections: PeSection[] = [];
  for (let index = 0; index < count; index++) {
    const at = table + index * SECTION.size;
    const raw = bytes.subarray(at + SECTION.name, at + SECTION.name + SECTION.nameLength);
    const end = raw.indexOf(0);
    sections.push({
      name: String.fromCharCode(...raw.subarray(0, end < 0 ? raw.length : end)),
      index,
      virtualSize: view.getUint32(at + SECTION.virtualSize, true),
      virtualAddress: view.getUint32(at + SECTION.virtualAddress, true),
      sizeOfRawData: view.getUint32(at + SECTION.sizeOfRawData, true),
      pointerToRawData: view.getUint32(at + SECTION.pointerToRawData, true),
    });
  }
  return { machine: view.getUint16(coff + COFF.machine, true), sections };
}

/**
 * The bytes of `section`: `min(VirtualSize, SizeOfRawData)` bytes at
 * `PointerToRawData` (SizeOfRawData is rounded up to the file alignment;
 * VirtualSize is the real length; systemd-stub reads the same span). A view,
 * not a copy. Throws when the span leaves the file.
 *
 * @example
 * ```ts
 * import { sectionBytes } from "./pe.ts";
 * const file = new Uint8Array(0x400).fill(7);
 * const s = { name: ".linux", index: 0, virtualSize: 10, virtualAddress: 0x1000,
 *   sizeOfRawData: 0x200, pointerToRawData: 0x200 };
 * if (sectionBytes(file, s, "k.efi").length !== 10) throw new Error();
 * ```
 */
export function sectionBytes(bytes: Uint8Array, section: PeSection, path: string): Uint8Array {
  const length = Math.min(section.virtualSize, section.sizeOfRawData);
  const start = section.pointerToRawData;
  if (start + length > bytes.length) {
    throw new KexecError(
      `${path}: section ${section.name} (${length} bytes at ${hex(start)}) runs past the end ` +
        `of the file (${bytes.length} bytes): truncated`,
      { hint: "the file is cut short; copy it again" },
    );
  }
  return bytes.subarray(start, start + length);
}
