/**
 * The newc header layout (Linux
 * `Documentation/driver-api/early-userspace/buffer-format.rst`, "newc"):
 * named fields, their encoding as ASCII hex, and the 4-byte padding rules.
 *
 * @example
 * ```ts
 * import { NEWC_HEADER_SIZE } from "./newc_header.ts";
 * if (NEWC_HEADER_SIZE !== 110) throw new Error(`${NEWC_HEADER_SIZE}`);
 * ```
 *
 * @module
 */

import { KexecError } from "../errors.ts";

// newc header: the 6-byte magic, then thirteen fields of 8 ASCII hex digits each,
// then the NUL-terminated name, padded so that header+name is a multiple of 4;
// the data follows, padded to a multiple of 4 (buffer-format.rst, "newc").
const NEWC_MAGIC = "070701";
const NEWC_FIELD_DIGITS = 8;
const NEWC_FIELDS = [
  "ino",
  "mode",
  "uid",
  "gid",
  "nlink",
  "mtime",
  "filesize",
  "devmajor",
  "devminor",
  "rdevmajor",
  "rdevminor",
  "namesize",
  "check",
] as const;
/** Length of a newc header before the name: magic + 13 fields. */
export const NEWC_HEADER_SIZE = NEWC_MAGIC.length + NEWC_FIELDS.length * NEWC_FIELD_DIGITS;
const NEWC_ALIGN = 4;
/** Name of the entry that ends an archive. */
export const NEWC_TRAILER_NAME = "TRAILER!!!";
const NEWC_FIELD_MAX = 0xffff_ffff;
// The kernel's unpacker (init/initramfs.c do_header) silently skips an entry
// whose name, NUL included, or whose symlink target is longer than PATH_MAX.
/** Longest name (NUL included) or symlink target the kernel unpacks. */
export const PATH_MAX = 4096;

/** The numeric fields of a newc header, by their names in buffer-format.rst. */
export type HeaderFields = Record<(typeof NEWC_FIELDS)[number], number>;

const encoder = new TextEncoder();

/**
 * Bytes of the data padding that must follow `size` bytes of file content.
 *
 * @example
 * ```ts
 * import { newcPadding } from "./newc_header.ts";
 * if (newcPadding(5).length !== 3 || newcPadding(8).length !== 0) throw new Error("padding");
 * ```
 */
export function newcPadding(size: number): Uint8Array {
  return new Uint8Array((NEWC_ALIGN - (size % NEWC_ALIGN)) % NEWC_ALIGN);
}

function checkField(name: string, value: number, path: string): void {
  if (!Number.isInteger(value) || value < 0 || value > NEWC_FIELD_MAX) {
    throw new KexecError(
      `archive entry ${path}: ${name} ${value} does not fit a newc header (0..0xffffffff)`,
    );
  }
}

/**
 * One header: magic, the fields as 8 hex digits each (`namesize` computed from
 * `name`), the NUL-terminated name, padded to a multiple of 4.
 *
 * @example
 * ```ts
 * import { blankFields, encodeHeader, NEWC_HEADER_SIZE } from "./newc_header.ts";
 * const h = encodeHeader({ ...blankFields(), nlink: 1 }, "a");
 * if (h.length !== 112 || h[NEWC_HEADER_SIZE] !== 0x61) throw new Error(`${h.length}`);
 * ```
 */
export function encodeHeader(fields: HeaderFields, name: string): Uint8Array {
  const nameBytes = encoder.encode(name);
  const namesize = nameBytes.length + 1; // the NUL terminator counts
  const all: HeaderFields = { ...fields, namesize };
  let text = NEWC_MAGIC;
  for (const field of NEWC_FIELDS) {
    checkField(field, all[field], name);
    text += all[field].toString(16).padStart(NEWC_FIELD_DIGITS, "0");
  }
  const unpadded = NEWC_HEADER_SIZE + namesize;
  const out = new Uint8Array(unpadded + newcPadding(unpadded).length);
  out.set(encoder.encode(text), 0);
  out.set(nameBytes, NEWC_HEADER_SIZE);
  return out;
}

/**
 * Every header field zero.
 *
 * @example
 * ```ts
 * import { blankFields } from "./newc_header.ts";
 * if (Object.values(blankFields()).some((v) => v !== 0)) throw new Error();
 * ```
 */
export function blankFields(): HeaderFields {
  return {
    ino: 0,
    mode: 0,
    uid: 0,
    gid: 0,
    nlink: 0,
    mtime: 0,
    filesize: 0,
    devmajor: 0,
    devminor: 0,
    rdevmajor: 0,
    rdevminor: 0,
    namesize: 0,
    check: 0,
  };
}
