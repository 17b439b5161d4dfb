/**
 * Refuses, before any system call, a kernel file this machine cannot boot:
 * another architecture's image, a format we do not load, or garbage. A failed
 * check never replaces the kernel that is already loaded.
 *
 * @module
 */

import type { Arch } from "../abi.ts";
import { KexecError } from "../errors.ts";
import { detectImage, type ImageKind } from "./detect.ts";

const NATIVE_FORMAT: Record<Arch, string> = {
  x86_64: "bzImage",
  aarch64: "arm64-Image",
};

const ARCH_NAMES: Record<string, string> = {
  x86_64: "x86_64",
  aarch64: "arm64 (aarch64)",
};

/**
 * Detects the image and throws a {@link KexecError} unless it is this
 * architecture's native kernel format.
 *
 * @example
 * ```ts
 * import { requireNativeImage } from "./require.ts";
 * const arm64 = new Uint8Array(1024);
 * new DataView(arm64.buffer).setUint32(0x38, 0x644d5241, true);
 * let message = "";
 * try { requireNativeImage(arm64, "/boot/Image", "x86_64"); } catch (e) { message = String(e); }
 * if (!message.includes("arm64") || !message.includes("x86_64")) throw new Error(message);
 * ```
 */
export function requireNativeImage(bytes: Uint8Array, path: string, arch: Arch): ImageKind {
  const kind = detectImage(bytes);
  if (kind.format === NATIVE_FORMAT[arch]) return kind;
  const here = ARCH_NAMES[arch];
  if (kind.arch !== undefined && kind.arch !== arch) {
    const there = ARCH_NAMES[kind.arch] ?? kind.arch;
    throw new KexecError(
      `kernel ${path} is ${
        /^[aeiouAEIOU]/.test(kind.description) ? "an" : "a"
      } ${kind.description} built for ${there}, but this machine is ${here}`,
      { hint: `use a kernel built for ${here}` },
    );
  }
  const native = arch === "x86_64" ? "a bzImage (vmlinuz)" : "an arm64 Image";
  const advice: Record<string, string> = {
    elf: `an ELF vmlinux is not loaded by this tool; use ${native}`,
    "pe-zboot": "EFI zboot images are not unwrapped yet; extract the kernel first",
    pe: "PE/UKI images are not unwrapped yet; extract the .linux section first",
    unknown: `give ${native}`,
  };
  const what = kind.format === "unknown"
    ? "not a kernel image this tool recognises"
    : /^[aeiouAEIOU]/.test(kind.description)
    ? `an ${kind.description}`
    : `a ${kind.description}`;
  throw new KexecError(`kernel ${path} is ${what}; expected ${native}`, {
    hint: advice[kind.format] ?? `decompress it first (${kind.format}), giving ${native}`,
  });
}
