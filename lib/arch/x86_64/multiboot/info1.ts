/**
 * The Multiboot (version 1) boot information structure EBX points to
 * (Multiboot Specification 0.6.96, 3.3 "Boot information format"), built
 * into one buffer the loader places below 4 GiB: the fixed structure, the
 * memory map, the module list, then the strings. Every pointer in it is a
 * physical address, so the buffer is built for a known base address.
 *
 * Passed: memory (`mem_lower`/`mem_upper`, flags bit 0), the command line
 * (bit 2), the modules (bit 3), the memory map (bit 6) and the boot loader
 * name (bit 9). Not passed: boot device, symbols, drives, configuration
 * table, APM, VBE and framebuffer information, which kexec does not have.
 *
 * @module
 */

import { KexecError } from "../../../errors.ts";
import type { E820Entry } from "../e820.ts";
import type { BasicMemory } from "./memory.ts";

/** Field offsets of `struct multiboot_info` (3.3). */
export const MB1_INFO = {
  flags: 0,
  memLower: 4,
  memUpper: 8,
  bootDevice: 12,
  cmdline: 16,
  modsCount: 20,
  modsAddr: 24,
  syms: 28,
  mmapLength: 44,
  mmapAddr: 48,
  drivesLength: 52,
  drivesAddr: 56,
  configTable: 60,
  bootLoaderName: 64,
  apmTable: 68,
  vbeControlInfo: 72,
  framebufferAddr: 88,
  /** Size of the structure up to and including the framebuffer fields. */
  size: 116,
} as const;

/** `flags` bits of the boot information (3.3). */
export const MB1_INFO_FLAG = {
  MEMORY: 1 << 0,
  CMDLINE: 1 << 2,
  MODS: 1 << 3,
  MMAP: 1 << 6,
  BOOT_LOADER_NAME: 1 << 9,
} as const;

/** One module list entry: u32 mod_start, mod_end, string, reserved (3.3). */
export const MB1_MODULE = { modStart: 0, modEnd: 4, string: 8, reserved: 12, size: 16 } as const;

/**
 * One memory map entry: u32 size (of the rest, 20), u64 base_addr, u64
 * length, u32 type. `mmap_addr` points at the first `size` field.
 */
export const MB1_MMAP_ENTRY = { size: 0, baseAddr: 4, length: 12, type: 20, stride: 24 } as const;

/** A module as the boot information lists it. */
export interface MultibootModuleInfo {
  /** Physical address of its first byte. */
  readonly start: number;
  /** Physical address just past its last byte (start + length). */
  readonly end: number;
  /** Its string: the `--module` argument as given ("FILE ARGS"). */
  readonly cmdline: string;
}

/** What goes into the boot information. */
export interface Multiboot1InfoInput {
  /** Physical address the buffer will be loaded at (below 4 GiB). */
  readonly base: number;
  /** The kernel's command line. */
  readonly cmdline: string;
  readonly bootLoaderName: string;
  readonly memory: BasicMemory;
  readonly memoryMap: readonly E820Entry[];
  readonly modules: readonly MultibootModuleInfo[];
}

/**
 * The strings as UTF-8 with a NUL each, in order. Throws a KexecError for a
 * string with a NUL inside (the kernel would see it cut there).
 *
 * @example
 * ```ts
 * import { encodeStrings } from "./info1.ts";
 * const [a, b] = encodeStrings(["é", ""]);
 * if (a.join() !== "195,169,0" || b.join() !== "0") throw new Error();
 * ```
 */
export function encodeStrings(strings: readonly string[]): Uint8Array[] {
  const enc = new TextEncoder();
  return strings.map((s) => {
    if (s.includes("\0")) {
      throw new KexecError(`a Multiboot string contains a NUL byte: ${JSON.stringify(s)}`, {
        hint: "command lines and module arguments end at the first NUL; remove it",
      });
    }
    const bytes = new Uint8Array(enc.encode(s).length + 1);
    enc.encodeInto(s, bytes);
    return bytes;
  });
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

interface Layout {
  mmap: number;
  mods: number;
  strings: number;
  size: number;
  encoded: Uint8Array[];
}

function layout(input: Omit<Multiboot1InfoInput, "base" | "memory">): Layout {
  const encoded = encodeStrings([
    input.cmdline,
    input.bootLoaderName,
    ...input.modules.map((m) => m.cmdline),
  ]);
  const mmap = align(MB1_INFO.size, 8);
  const mods = mmap + input.memoryMap.length * MB1_MMAP_ENTRY.stride;
  const strings = mods + input.modules.length * MB1_MODULE.size;
  const size = strings + encoded.reduce((n, s) => n + s.length, 0);
  return { mmap, mods, strings, size, encoded };
}

/**
 * Bytes {@link buildMultiboot1Info} will produce (they do not depend on the
 * addresses, so the buffer can be placed before it is built).
 *
 * @example
 * ```ts
 * import { multiboot1InfoSize } from "./info1.ts";
 * const n = multiboot1InfoSize({
 *   cmdline: "k", bootLoaderName: "l", memoryMap: [], modules: [],
 * });
 * if (n !== 120 + 2 + 2) throw new Error(String(n));
 * ```
 */
export function multiboot1InfoSize(input: Omit<Multiboot1InfoInput, "base" | "memory">): number {
  return layout(input).size;
}

/**
 * Builds the boot information for loading at `input.base`. Throws a
 * KexecError for a string with a NUL in it, or when the structure would
 * reach above 4 GiB.
 *
 * @example
 * ```ts
 * import { buildMultiboot1Info, MB1_INFO } from "./info1.ts";
 * const info = buildMultiboot1Info({
 *   base: 0x10000, cmdline: "/boot/k console=ttyS0", bootLoaderName: "kexec",
 *   memory: { lowerKiB: 639, upperKiB: 1046400 },
 *   memoryMap: [{ addr: 0, size: 0x9fc00, type: 1 }],
 *   modules: [{ start: 0x200000, end: 0x200010, cmdline: "/boot/m arg" }],
 * });
 * const v = new DataView(info.buffer);
 * if (v.getUint32(MB1_INFO.modsCount, true) !== 1) throw new Error();
 * const at = v.getUint32(MB1_INFO.cmdline, true) - 0x10000;
 * if (new TextDecoder().decode(info.subarray(at, at + 7)) !== "/boot/k") throw new Error();
 * ```
 */
export function buildMultiboot1Info(input: Multiboot1InfoInput): Uint8Array {
  const l = layout(input);
  if (!Number.isSafeInteger(input.base) || input.base < 0 || input.base + l.size > 2 ** 32) {
    throw new KexecError(`Multiboot information at ${input.base} would not lie below 4 GiB`, {
      hint: "this is a bug in the load planner; run with -d and report it",
    });
  }
  const bytes = new Uint8Array(l.size);
  const view = new DataView(bytes.buffer);
  const at = (offset: number) => input.base + offset;

  const stringAt: number[] = [];
  let cursor = l.strings;
  for (const s of l.encoded) {
    stringAt.push(cursor);
    bytes.set(s, cursor);
    cursor += s.length;
  }
  const [cmdlineAt, nameAt, ...moduleStringAt] = stringAt;

  view.setUint32(
    MB1_INFO.flags,
    MB1_INFO_FLAG.MEMORY | MB1_INFO_FLAG.CMDLINE | MB1_INFO_FLAG.MMAP |
      MB1_INFO_FLAG.BOOT_LOADER_NAME | (input.modules.length ? MB1_INFO_FLAG.MODS : 0),
    true,
  );
  view.setUint32(MB1_INFO.memLower, input.memory.lowerKiB, true);
  view.setUint32(MB1_INFO.memUpper, input.memory.upperKiB, true);
  view.setUint32(MB1_INFO.cmdline, at(cmdlineAt), true);
  view.setUint32(MB1_INFO.bootLoaderName, at(nameAt), true);
  view.setUint32(MB1_INFO.modsCount, input.modules.length, true);
  view.setUint32(MB1_INFO.modsAddr, input.modules.length ? at(l.mods) : 0, true);
  view.setUint32(MB1_INFO.mmapLength, input.memoryMap.length * MB1_MMAP_ENTRY.stride, true);
  view.setUint32(MB1_INFO.mmapAddr, at(l.mmap), true);

  input.memoryMap.forEach((e, i) => {
    const o = l.mmap + i * MB1_MMAP_ENTRY.stride;
    view.setUint32(o + MB1_MMAP_ENTRY.size, MB1_MMAP_ENTRY.stride - 4, true);
    view.setBigUint64(o + MB1_MMAP_ENTRY.baseAddr, BigInt(e.addr), true);
    view.setBigUint64(o + MB1_MMAP_ENTRY.length, BigInt(e.size), true);
    view.setUint32(o + MB1_MMAP_ENTRY.type, e.type, true);
  });
  input.modules.forEach((m, i) => {
    const o = l.mods + i * MB1_MODULE.size;
    view.setUint32(o + MB1_MODULE.modStart, m.start, true);
    view.setUint32(o + MB1_MODULE.modEnd, m.end, true);
    view.setUint32(o + MB1_MODULE.string, at(moduleStringAt[i]), true);
  });
  return bytes;
}
