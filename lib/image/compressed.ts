/**
 * Whole-file compression around a kernel: `Image.gz` (Debian's and Ubuntu's
 * arm64 vmlinuz), `.zst`, `.xz`. Recognised by the leading bytes of each
 * format (gzip: RFC 1952 §2.3.1; zstd: RFC 8878 §3.1.1; xz: the .xz file
 * format specification §2.1.1.1), never by the file name; the registry
 * inflates the whole file (lib/image/decompress.ts).
 *
 * @module
 */

import { size } from "../format.ts";
import type { Codec, WrapperFormat } from "./types.ts";

// Leading bytes: gzip ID1 ID2 and CM=8 (deflate, the only method defined);
// the zstd frame magic 0xFD2FB528 (little-endian); the xz stream header magic.
const MAGIC: Readonly<Record<Codec, readonly number[]>> = {
  gzip: [0x1f, 0x8b, 0x08],
  zstd: [0x28, 0xb5, 0x2f, 0xfd],
  xz: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
};

/**
 * True when `bytes` start with the magic of `codec`.
 *
 * @example
 * ```ts
 * import { startsWithCodec } from "./compressed.ts";
 * if (!startsWithCodec(new Uint8Array([0x1f, 0x8b, 8, 0]), "gzip")) throw new Error();
 * if (startsWithCodec(new Uint8Array([0x1f, 0x8b]), "gzip")) throw new Error();
 * ```
 */
export function startsWithCodec(bytes: Uint8Array, codec: Codec): boolean {
  const magic = MAGIC[codec];
  return bytes.length > magic.length && magic.every((b, i) => bytes[i] === b);
}

function compressed(codec: Codec): WrapperFormat {
  return {
    name: codec,
    typeNames: [codec],
    probe: (bytes) => startsWithCodec(bytes, codec),
    unwrap: (bytes) => ({
      kernel: { codec, data: bytes },
      note: `${codec}-compressed, ${size(bytes.length)}`,
    }),
  };
}

/**
 * A gzip-compressed kernel.
 *
 * @example
 * ```ts
 * import { GZIP } from "./compressed.ts";
 * const u = GZIP.unwrap(new Uint8Array([0x1f, 0x8b, 8, 0, 0]), "k.gz", { maxImageBytes: 1 });
 * if (!("codec" in u.kernel) || u.kernel.codec !== "gzip") throw new Error();
 * ```
 */
export const GZIP: WrapperFormat = compressed("gzip");

/**
 * A zstd-compressed kernel.
 *
 * @example
 * ```ts
 * import { ZSTD } from "./compressed.ts";
 * if (!ZSTD.probe(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0]))) throw new Error();
 * ```
 */
export const ZSTD: WrapperFormat = compressed("zstd");

/**
 * An xz-compressed kernel.
 *
 * @example
 * ```ts
 * import { XZ } from "./compressed.ts";
 * if (!XZ.probe(new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0]))) throw new Error();
 * ```
 */
export const XZ: WrapperFormat = compressed("xz");
