/**
 * The Multiboot and Multiboot2 kernel formats (Xen's `xen.gz` once the gzip
 * wrapper is off; kexec-tools' `multiboot-x86` and `multiboot2-x86`
 * loaders): recognised by their headers, checked before any system call
 * (kernel.ts, imported for the check), and booted only through kexec_load,
 * with `--module`s (plan_load.ts, imported when a load is planned).
 * Multiboot2 is probed first, as kexec-tools does, so an image with both
 * headers (Xen) boots through Multiboot2 unless `-t multiboot-x86` asks
 * otherwise.
 *
 * @module
 */

import type { KernelFormat } from "../../types.ts";
import { isElf } from "./elf.ts";
import { findMultiboot1Header } from "./header1.ts";
import { findMultiboot2Header } from "./header2.ts";

const FILE_LOAD_REFUSAL =
  "the kernel's own x86_64 loader takes only bzImage kernels, so Multiboot kernels go through " +
  "kexec_load";

function describe(version: 1 | 2, bytes: Uint8Array): string {
  return `Multiboot${version === 2 ? "2" : ""} kernel (${isElf(bytes) ? "ELF" : "flat image"})`;
}

/**
 * Multiboot2 kernels (Multiboot2 Specification 2.0), kexec-tools'
 * `multiboot2-x86`.
 *
 * @example
 * ```ts
 * import { MULTIBOOT2 } from "./format.ts";
 * const k = new Uint8Array(64);
 * const v = new DataView(k.buffer);
 * v.setUint32(0, 0xe85250d6, true);
 * v.setUint32(8, 24, true);
 * v.setUint32(12, -(0xe85250d6 + 24) >>> 0, true);
 * if (!MULTIBOOT2.probe(k) || MULTIBOOT2.probe(new Uint8Array(64))) throw new Error();
 * ```
 */
export const MULTIBOOT2: KernelFormat = {
  name: "Multiboot2",
  typeNames: ["multiboot2-x86", "multiboot2"],
  probe: (bytes) => findMultiboot2Header(bytes) !== undefined,
  describe: (bytes) => describe(2, bytes),
  check: async (input) => (await import("./kernel.ts")).checkMultiboot(2, input),
  fileLoad: FILE_LOAD_REFUSAL,
  takesModules: true,
  planSegments: async (sys, input) => (await import("./plan_load.ts")).planLoad(2, sys, input),
};

/**
 * Multiboot kernels (Multiboot Specification 0.6.96), kexec-tools'
 * `multiboot-x86`; ELF or flat images with the a.out kludge.
 *
 * @example
 * ```ts
 * import { MULTIBOOT } from "./format.ts";
 * const k = new Uint8Array(64);
 * const v = new DataView(k.buffer);
 * v.setUint32(4, 0x1badb002, true);
 * v.setUint32(12, -0x1badb002 >>> 0, true);
 * if (!MULTIBOOT.probe(k) || MULTIBOOT.typeNames[0] !== "multiboot-x86") throw new Error();
 * ```
 */
export const MULTIBOOT: KernelFormat = {
  name: "Multiboot",
  typeNames: ["multiboot-x86", "multiboot"],
  probe: (bytes) => findMultiboot1Header(bytes) !== undefined,
  describe: (bytes) => describe(1, bytes),
  check: async (input) => (await import("./kernel.ts")).checkMultiboot(1, input),
  fileLoad: FILE_LOAD_REFUSAL,
  takesModules: true,
  planSegments: async (sys, input) => (await import("./plan_load.ts")).planLoad(1, sys, input),
};
