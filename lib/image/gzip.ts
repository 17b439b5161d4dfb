/**
 * A minimal gzip wrapper (RFC 1952), enough for Xen's `xen.gz`: the whole
 * file is inflated in memory, up to the unwrap size limit. Stands in until
 * the full compression wrappers (gzip, zstd, xz; streamed) are merged.
 *
 * @module
 */

import { gunzipSync } from "node:zlib";
import { KexecError } from "../errors.ts";
import type { WrapperFormat } from "./types.ts";

// ID1 ID2 and CM = 8 (deflate, the only method RFC 1952 §2.3.1 defines).
const MAGIC = [0x1f, 0x8b, 0x08];

/**
 * The gzip wrapper.
 *
 * @example
 * ```ts
 * import { gzipSync } from "node:zlib";
 * import { GZIP } from "./gzip.ts";
 * const packed = new Uint8Array(gzipSync(new TextEncoder().encode("kernel")));
 * const inner = GZIP.unwrap(packed, "k.gz", { maxImageBytes: 1024 });
 * if (!GZIP.probe(packed) || new TextDecoder().decode(inner.kernel) !== "kernel") throw new Error();
 * ```
 */
export const GZIP: WrapperFormat = {
  name: "gzip",
  typeNames: ["gzip"],
  probe: (bytes) => bytes.length > MAGIC.length && MAGIC.every((b, i) => bytes[i] === b),
  unwrap(bytes, path, options) {
    let out: Uint8Array;
    try {
      out = gunzipSync(bytes, { maxOutputLength: options.maxImageBytes });
    } catch (e) {
      const tooLarge = (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
      throw new KexecError(
        tooLarge
          ? `kernel ${path}: gzip data inflates to more than ${options.maxImageBytes} bytes`
          : `kernel ${path}: gzip data is corrupt (${(e as Error).message})`,
        { hint: tooLarge ? "this is no kernel (a decompression bomb?)" : "the file is damaged" },
      );
    }
    return {
      kernel: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
      note: `gzip: ${bytes.length} bytes inflated to ${out.length}`,
    };
  },
};
