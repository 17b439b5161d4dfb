/**
 * The image-format registry: wrappers in probe order, and the loop that
 * unwraps a file until one of the architecture's native formats matches.
 * Detection is by content only; `-t/--type` can insist on a format.
 *
 * @module
 */

import {
  type Architecture,
  foreignFormatOf,
  type KernelFormat,
  nativeFormatOf,
} from "../arch/mod.ts";
import { ExitCode, KexecError } from "../errors.ts";
import { size } from "../format.ts";
import { GZIP, XZ, ZSTD } from "./compressed.ts";
import { compressionOf, describeContent } from "./magic.ts";
import type {
  CompressedPayload,
  EmbeddedPart,
  ImageStore,
  UnwrapOptions,
  WrapperFormat,
} from "./types.ts";
import { UKI } from "./uki.ts";
import { ZBOOT } from "./zboot.ts";

/** Wrappers, in probe order (compression first, then PE-based wrappers). */
export const WRAPPERS: readonly WrapperFormat[] = [GZIP, ZSTD, XZ, ZBOOT, UKI];

/** Most wrapper layers unwrapped around one kernel (a UKI holding a zboot holding gzip is 3). */
export const MAX_UNWRAP_DEPTH = 4;

/**
 * Largest unwrapped image by default: four times the largest distribution
 * kernel image (an arm64 `Image` of about 60 MiB), and what a decompression
 * bomb may cost in memory before it is stopped.
 */
export const DEFAULT_MAX_IMAGE_BYTES = 256 * 1024 * 1024;

/** A kernel file resolved to a native image. */
export interface ResolvedKernel {
  /** The native format that matched. */
  readonly format: KernelFormat;
  /** The native image: the file's own bytes, or what unwrapping gave. */
  readonly bytes: Uint8Array;
  /** True when `bytes` are not the file's bytes (kexec_file_load then needs a memfd). */
  readonly unwrapped: boolean;
  /** One line per layer unwrapped, then the format found. */
  readonly notes: readonly string[];
  /** Initrds the wrappers carried, in order (they go before the user's). */
  readonly initrds: readonly EmbeddedPart[];
  /** A command line a wrapper carried (the innermost one wins). */
  readonly cmdline?: Uint8Array;
  /** Names of the wrappers unwrapped, outermost first ("UKI", "gzip"). */
  readonly layers: readonly string[];
}

/** Options of {@link resolveKernel}. */
export interface ResolveOptions extends Partial<UnwrapOptions> {
  /** `-t/--type`: the format the image must turn out to be (or the first wrapper). */
  readonly type?: string;
  /** Wrappers to use; default {@link WRAPPERS}. */
  readonly wrappers?: readonly WrapperFormat[];
}

/**
 * The names `-t/--type` accepts on `arch`.
 *
 * @example
 * ```ts
 * import { typeNames } from "./registry.ts";
 * import { architecture } from "../arch/mod.ts";
 * if (!typeNames(architecture("x86_64")).includes("bzImage64")) throw new Error();
 * ```
 */
export function typeNames(
  arch: Architecture,
  wrappers: readonly WrapperFormat[] = WRAPPERS,
): string[] {
  return [...arch.formats, ...wrappers].flatMap((f) => f.typeNames);
}

/**
 * Unwraps `bytes` (the file at `path`) until a native format of `arch`
 * matches, inflating compressed layers into `store` (memfds on a real
 * machine). Throws a {@link KexecError} naming the file when the content is
 * another architecture's kernel, nothing known, corrupt, a decompression
 * bomb, nested too deep, or not what `-t` asked for.
 *
 * @example
 * ```ts
 * import { resolveKernel } from "./registry.ts";
 * import { MemfdImageStore } from "./store.ts";
 * import { architecture } from "../arch/mod.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * import { gzipSync } from "node:zlib";
 * const k = new Uint8Array(0x400);
 * const v = new DataView(k.buffer);
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint32(0x202, 0x53726448, true); // "HdrS"
 * const store = new MemfdImageStore(new RecordingSystem({}));
 * const gz = new Uint8Array(gzipSync(k));
 * const r = await resolveKernel(gz, "/boot/vmlinuz.gz", architecture("x86_64"), store);
 * if (r.format.name !== "bzImage" || !r.unwrapped || r.layers[0] !== "gzip") throw new Error();
 * ```
 */
export async function resolveKernel(
  bytes: Uint8Array,
  path: string,
  arch: Architecture,
  store: ImageStore,
  options: ResolveOptions = {},
): Promise<ResolvedKernel> {
  const wrappers = options.wrappers ?? WRAPPERS;
  const forced = options.type === undefined
    ? undefined
    : forcedFormat(arch, wrappers, options.type);
  const unwrapOptions: UnwrapOptions = {
    maxImageBytes: options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES,
    ukiProfile: options.ukiProfile,
  };
  const notes: string[] = [];
  const initrds: EmbeddedPart[] = [];
  const layers: string[] = [];
  let cmdline: Uint8Array | undefined;
  let image = bytes;
  let name = path;
  for (let depth = 0; depth <= MAX_UNWRAP_DEPTH; depth++) {
    // -t may name a native format that is not the first to match (Xen carries
    // both Multiboot headers; -t multiboot-x86 picks the older one).
    const native = forcedNative(arch, forced, image) ?? nativeFormatOf(arch, image);
    const wrapper = native ? undefined : wrappers.find((w) => w.probe(image));
    // -t names the outermost wrapper, or the native format at the core.
    const forcedWrapper = forced !== undefined && wrappers.includes(forced as WrapperFormat);
    if (depth === 0 && forcedWrapper) requireForced(forced!, native ?? wrapper, path, image);
    if (native) {
      if (forced && !forcedWrapper) requireForced(forced, native, name, image);
      notes.push(`${name}: ${native.describe(image)}`);
      return {
        format: native,
        bytes: image,
        unwrapped: image !== bytes,
        notes,
        initrds,
        cmdline,
        layers,
      };
    }
    if (!wrapper) throw unknownFormat(arch, wrappers, name, image);
    if (depth === MAX_UNWRAP_DEPTH) break;
    const inner = wrapper.unwrap(image, name, unwrapOptions);
    const kernel = inner.kernel instanceof Uint8Array
      ? inner.kernel
      : await inflateLayer(inner.kernel, store, `kernel-${depth + 1}`, name, unwrapOptions);
    notes.push(
      `${name}: ${inner.note}` +
        (inner.kernel instanceof Uint8Array ? "" : `, inflated to ${size(kernel.length)}`),
    );
    // Parts of outer layers come first: a UKI's .ucode and .initrd before anything inner.
    initrds.push(...(inner.initrds ?? []));
    cmdline = inner.cmdline ?? cmdline;
    layers.push(wrapper.name);
    image = kernel;
    name = `${name} (${wrapper.name} payload)`;
  }
  throw new KexecError(
    `kernel ${path} is wrapped more than ${MAX_UNWRAP_DEPTH} layers deep; refusing to unwrap further`,
    { hint: "unwrap it by hand and load the kernel inside" },
  );
}

function forcedNative(
  arch: Architecture,
  forced: KernelFormat | WrapperFormat | undefined,
  image: Uint8Array,
): KernelFormat | undefined {
  const format = arch.formats.find((f) => f === forced);
  return format?.probe(image) ? format : undefined;
}

async function inflateLayer(
  payload: CompressedPayload,
  store: ImageStore,
  sinkName: string,
  path: string,
  options: UnwrapOptions,
): Promise<Uint8Array> {
  // The decompressors (node:zlib, the xz decoder) are imported only when a layer is compressed.
  const { inflate } = await import("./decompress.ts");
  const sink = store.create(sinkName);
  try {
    await inflate(payload, sink, { limit: options.maxImageBytes, what: `kernel ${path}` });
  } catch (e) {
    sink.discard();
    throw e;
  }
  const bytes = sink.finish();
  if (bytes.length === 0) {
    throw new KexecError(`kernel ${path}: its ${payload.codec} data inflates to nothing`, {
      hint: "the file is damaged; copy it again",
    });
  }
  return bytes;
}

function forcedFormat(
  arch: Architecture,
  wrappers: readonly WrapperFormat[],
  type: string,
): KernelFormat | WrapperFormat {
  const found = [...arch.formats, ...wrappers].find((f) => f.typeNames.includes(type));
  if (found) return found;
  throw new KexecError(`unsupported kernel type '${type}' for ${arch.displayName}`, {
    exitCode: ExitCode.USAGE,
    hint: `known types: ${typeNames(arch, wrappers).join(", ")}`,
  });
}

function requireForced(
  forced: KernelFormat | WrapperFormat,
  found: KernelFormat | WrapperFormat | undefined,
  path: string,
  image: Uint8Array,
): void {
  if (found === forced) return;
  const what = found ? `a ${found.name}` : (describeContent(image) ?? "not a known format");
  throw new KexecError(
    `kernel ${path} is ${what}, not ${forced.name} as -t ${forced.typeNames[0]} says`,
    { hint: "drop -t to let the content decide, or give the right file" },
  );
}

function unknownFormat(
  arch: Architecture,
  wrappers: readonly WrapperFormat[],
  path: string,
  image: Uint8Array,
): KexecError {
  const foreign = foreignFormatOf(arch.name, image);
  if (foreign) {
    return new KexecError(
      `kernel ${path} is ${article(foreign.format.describe(image))} built for ` +
        `${foreign.arch.displayName}, but this machine is ${arch.displayName}`,
      { hint: `use a kernel built for ${arch.displayName}` },
    );
  }
  const compression = compressionOf(image);
  if (compression && DECOMPRESS_BY_HAND[compression]) {
    return new KexecError(
      `kernel ${path} is ${compression}-compressed; this tool inflates gzip, zstd and xz`,
      { hint: `decompress it first (${DECOMPRESS_BY_HAND[compression]}) and load the result` },
    );
  }
  const tried = [...wrappers, ...arch.formats].map((f) => f.name).join(", ");
  const looks = describeContent(image);
  return new KexecError(
    `cannot determine the kernel format of ${path}: ` +
      (looks ? `${looks}, ` : "") + `not a kernel image this tool recognises (tried ${tried})`,
    { hint: `give ${article(arch.formats[0].name)} kernel for ${arch.displayName}` },
  );
}

// Compressions a kernel may come in that this tool does not inflate, and the command that does.
const DECOMPRESS_BY_HAND: Readonly<Record<string, string>> = {
  "bzip2": "bunzip2 -k FILE",
  "lz4": "lz4 -d FILE",
  "lz4 (legacy)": "lz4 -d FILE",
  "lzo": "lzop -d FILE",
  "lzma": "unlzma -k FILE",
};

function article(words: string): string {
  // "an x86 bzImage", "an arm64 Image", "a bzImage".
  return `${/^([aeiou]|x86)/i.test(words) ? "an" : "a"} ${words}`;
}
