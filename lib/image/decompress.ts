/**
 * Streaming decompression of kernel payloads with a hard output limit:
 * gzip (RFC 1952) and zstd (RFC 8878) through node:zlib, xz through the
 * `xz-decompress` package (Linux's own xz-embedded decoder compiled to
 * WebAssembly, no native code), imported only when an xz image is met.
 *
 * Output goes chunk by chunk into an {@link ImageSink} (a memfd on a real
 * machine) and is counted as it comes: a decompression bomb is stopped at
 * the limit, never inflated whole, and nothing is kept in the JS heap but
 * the chunk in flight. Two limits apply: the absolute one of the caller, and
 * {@link MAX_EXPANSION} times the compressed size once past
 * {@link EXPANSION_FLOOR}, which stops a small bomb long before it fills
 * memory (kernels shrink 3–6 times; deflate cannot pass about 1032 times, so
 * anything beyond 100 is made to be a bomb).
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { size } from "../format.ts";
import type { CompressedPayload, ImageSink } from "./types.ts";

// Imported at evaluation, not as static import declarations: deno bundle
// hoists static imports of built-in modules into a chunk every command
// loads, where every command would pay for them. This module itself is
// imported only when a compressed layer is met (registry.ts).
const [{ EventEmitter }, { createGunzip, createZstdDecompress }] = await Promise.all([
  import("node:events"),
  import("node:zlib"),
]);
const once = EventEmitter.once;

/** Bytes handed to the decompressor at a time. */
const INPUT_CHUNK = 1 << 20;
/** Bytes the decompressor hands out at a time (node:zlib defaults to 16 KiB). */
const OUTPUT_CHUNK = 1 << 20;
const MiB = 1 << 20;
/** Most an image may grow over its compressed size once past {@link EXPANSION_FLOOR}. */
export const MAX_EXPANSION = 100;
/** Output every payload may have whatever its ratio, so small inputs are never judged by it. */
export const EXPANSION_FLOOR = 16 * MiB;

/** What {@link inflate} needs besides the payload. */
export interface InflateOptions {
  /** Most bytes the output may have; more is refused as a bomb. */
  readonly limit: number;
  /** Names the data in messages ("kernel /boot/vmlinuz.gz"). */
  readonly what: string;
}

/**
 * Inflates `payload` into `sink` and returns the number of bytes written.
 * Throws a {@link KexecError} naming `what` when the data is corrupt or
 * truncated, or inflates past `limit`.
 *
 * @example
 * ```ts
 * import { inflate } from "./decompress.ts";
 * import { gzipSync } from "node:zlib";
 * const out: Uint8Array[] = [];
 * const sink = { write: (c: Uint8Array) => void out.push(c.slice()), finish: () => out[0], discard() {} };
 * const data = new Uint8Array(gzipSync(new Uint8Array(5000)));
 * const n = await inflate({ codec: "gzip", data }, sink, { limit: 1 << 20, what: "kernel k.gz" });
 * if (n !== 5000) throw new Error(String(n));
 * let refused = "";
 * await inflate({ codec: "gzip", data }, sink, { limit: 4096, what: "kernel k.gz" })
 *   .catch((e) => refused = e.message);
 * if (!refused.includes("decompression bomb")) throw new Error(refused);
 * ```
 */
export async function inflate(
  payload: CompressedPayload,
  sink: ImageSink,
  options: InflateOptions,
): Promise<number> {
  const cut = payload.codec === "zstd" ? zstdFramesProblem(payload.data) : undefined;
  if (cut) {
    throw new KexecError(`${options.what}: its zstd data is corrupt or truncated (${cut})`, {
      hint: "the file is damaged; copy it again",
    });
  }
  const chunks = payload.codec === "xz"
    ? xzChunks(payload.data, options.what)
    : zlibChunks(payload);
  const byRatio = Math.max(EXPANSION_FLOOR, MAX_EXPANSION * payload.data.length);
  const limit = Math.min(options.limit, byRatio);
  let total = 0;
  try {
    for await (const chunk of chunks) {
      total += chunk.length;
      if (total > limit) {
        const why = limit === options.limit
          ? `more than ${Math.floor(limit / MiB)} MiB, the limit for an unwrapped image`
          : `more than ${MAX_EXPANSION} times its ${size(payload.data.length)} (past ${
            size(limit)
          })`;
        throw new KexecError(
          `${options.what}: its ${payload.codec} data inflates to ${why}; ` +
            "refusing it as a decompression bomb",
          { hint: "if it really is a kernel, decompress it by hand and load the result" },
        );
      }
      sink.write(chunk);
    }
  } catch (e) {
    if (e instanceof KexecError) throw e;
    throw new KexecError(
      `${options.what}: its ${payload.codec} data is corrupt or truncated (${
        (e as Error).message ?? e
      })`,
      { hint: "the file is damaged; copy it again" },
    );
  } finally {
    // Stops the decompressor when the loop ended early (bomb, sink failure).
    await chunks.return?.(undefined);
  }
  return total;
}

async function* zlibChunks(payload: CompressedPayload): AsyncGenerator<Uint8Array> {
  const stream = payload.codec === "gzip"
    ? createGunzip({ chunkSize: OUTPUT_CHUNK })
    : createZstdDecompress({ chunkSize: OUTPUT_CHUNK });
  // Deno 2.9's zstd stream throws corrupt-data errors from a process tick
  // instead of emitting "error": catch exactly those while this stream runs
  // and end the stream with them, so they surface below as a refusal.
  const onUncaught = (event: ErrorEvent) => {
    if (!/^Zstd decompress error/.test((event.error as Error)?.message ?? "")) return;
    event.preventDefault();
    stream.destroy(event.error as Error);
  };
  const stop = new AbortController();
  const feed = (async () => {
    const data = payload.data;
    for (let at = 0; at < data.length; at += INPUT_CHUNK) {
      if (!stream.write(data.subarray(at, at + INPUT_CHUNK))) {
        await once(stream, "drain", { signal: stop.signal });
      }
    }
    stream.end();
  })().catch(() => {
    // Errors surface through the output side; an aborted feed is expected.
  });
  globalThis.addEventListener("error", onUncaught);
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } finally {
    globalThis.removeEventListener("error", onUncaught);
    stop.abort();
    stream.destroy();
    await feed;
  }
}

// xz-embedded in WebAssembly, behind the WHATWG stream interface of its package.
async function* xzChunks(data: Uint8Array, what: string): AsyncGenerator<Uint8Array> {
  const { default: xz } = await import("xz-decompress");
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < data.length; at += INPUT_CHUNK) {
        controller.enqueue(data.subarray(at, at + INPUT_CHUNK));
      }
      controller.close();
    },
  });
  const reader = (new xz.XzReadableStream(input) as ReadableStream<Uint8Array>).getReader();
  try {
    while (true) {
      const { done, value } = await reader.read().catch((e: Error) => {
        throw xzError(e, what);
      });
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

// xz-embedded's enum xz_ret (lib/xz/xz.h in Linux), as the package reports it.
const XZ_CORRUPT: Readonly<Record<string, string>> = {
  "5": "not xz data",
  "7": "corrupt data",
  "8": "the stream ends early",
};
const XZ_UNSUPPORTED: Readonly<Record<string, string>> = {
  "2": "an integrity check type this decoder does not know",
  "4": "a dictionary larger than this decoder allows",
  "6": "a filter this decoder lacks (a BCJ branch filter such as --x86 or --arm64)",
};

function xzError(e: Error, what: string): Error {
  const code = /error code (\d+)/.exec(e.message)?.[1] ?? "";
  if (XZ_UNSUPPORTED[code]) {
    return new KexecError(`${what}: its xz data uses ${XZ_UNSUPPORTED[code]}`, {
      hint: "decompress it with 'xz -d' and load the result",
    });
  }
  return new Error(XZ_CORRUPT[code] ?? e.message);
}

// zstd frame layout (RFC 8878 §3.1): node:zlib's zstd stream ends quietly on a
// truncated frame, so the frames are walked first: headers and block sizes only.
const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE = 0x184d2a50;
const ZSTD_BLOCK_RLE = 1;
const ZSTD_BLOCK_RESERVED = 3;

/**
 * Why `data` is not a sequence of complete zstd frames, or undefined when it
 * is. Reads frame headers and block headers only (RFC 8878 §3.1.1).
 *
 * @example
 * ```ts
 * import { zstdFramesProblem } from "./decompress.ts";
 * import { zstdCompressSync } from "node:zlib";
 * const z = new Uint8Array(zstdCompressSync(new Uint8Array(100000).fill(1)));
 * if (zstdFramesProblem(z) !== undefined) throw new Error(zstdFramesProblem(z));
 * if (!zstdFramesProblem(z.subarray(0, z.length - 1))?.includes("ends early")) throw new Error();
 * ```
 */
export function zstdFramesProblem(data: Uint8Array): string | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  for (let frame = 0; at < data.length; frame++) {
    if (at + 4 > data.length) return `${data.length - at} stray bytes after frame ${frame}`;
    const magic = view.getUint32(at, true);
    if ((magic & ZSTD_SKIPPABLE_MASK) >>> 0 === ZSTD_SKIPPABLE) {
      if (at + 8 > data.length) return `skippable frame ${frame} ends early`;
      at += 8 + view.getUint32(at + 4, true);
      if (at > data.length) return `skippable frame ${frame} ends early`;
      continue;
    }
    if (magic !== ZSTD_MAGIC) return `no zstd frame at offset ${at}`;
    if (at + 5 > data.length) return `frame ${frame} ends early`;
    const fhd = data[at + 4];
    if (fhd & 0x08) return `frame ${frame} sets a reserved header bit`;
    const singleSegment = (fhd & 0x20) !== 0;
    const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6];
    at += 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3] + fcsBytes;
    for (let last = false; !last;) {
      if (at + 3 > data.length) return `frame ${frame} ends early`;
      const header = data[at] | data[at + 1] << 8 | data[at + 2] << 16;
      last = (header & 1) !== 0;
      const type = (header >> 1) & 3;
      if (type === ZSTD_BLOCK_RESERVED) return `frame ${frame} has a block of reserved type`;
      at += 3 + (type === ZSTD_BLOCK_RLE ? 1 : header >>> 3);
    }
    at += fhd & 0x04 ? 4 : 0;
    if (at > data.length) return `frame ${frame} ends early`;
  }
  return undefined;
}
