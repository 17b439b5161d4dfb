/**
 * The program headers of an ELF64 little-endian executable, as a boot
 * loader reads them to load a kernel (`vmlinux`): the entry point and every
 * `PT_LOAD` with its file span and physical address. Layouts from the
 * System V gABI ("ELF Header", "Program Header").
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { hex } from "../format.ts";

// ELF identification and header (gABI "ELF Identification", "ELF Header").
const EHDR = {
  size: 64,
  class: 4,
  data: 5,
  type: 0x10,
  machine: 0x12,
  entry: 0x18,
  phoff: 0x20,
  phentsize: 0x36,
  phnum: 0x38,
} as const;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const PN_XNUM = 0xffff;

// Elf64_Phdr (gABI "Program Header").
const PHDR = {
  size: 56,
  type: 0x00,
  flags: 0x04,
  offset: 0x08,
  vaddr: 0x10,
  paddr: 0x18,
  filesz: 0x20,
  memsz: 0x28,
  align: 0x30,
} as const;
const PT_LOAD = 1;

/** `e_type` of an executable (not relocatable, not shared). */
export const ET_EXEC = 2;

/** One `PT_LOAD` program header. */
export interface ElfLoad {
  /** File offset of the segment's bytes. */
  readonly offset: number;
  /** Virtual address (kernel addresses exceed 2^53, hence a bigint). */
  readonly vaddr: bigint;
  /** Physical address: where a boot loader puts the segment. */
  readonly paddr: number;
  /** Bytes in the file. */
  readonly filesz: number;
  /** Bytes in memory (the rest is zero, e.g. `.bss`). */
  readonly memsz: number;
  /** PF_X 1, PF_W 2, PF_R 4. */
  readonly flags: number;
  readonly align: number;
}

/** What {@link readElfExecutable} found. */
export interface ElfExecutable {
  readonly type: number;
  readonly machine: number;
  /** `e_entry` (virtual or physical, depending on the architecture). */
  readonly entry: bigint;
  /** Every PT_LOAD, in file order. */
  readonly loads: readonly ElfLoad[];
}

/**
 * Cheap check: ELF magic, 64-bit, little-endian, the given `e_machine`.
 *
 * @example
 * ```ts
 * import { isElf64For } from "./exec.ts";
 * const h = new Uint8Array(64);
 * h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
 * h[0x12] = 62;
 * if (!isElf64For(h, 62) || isElf64For(h, 183)) throw new Error();
 * ```
 */
export function isElf64For(bytes: Uint8Array, machine: number): boolean {
  return bytes.length >= EHDR.size && bytes[0] === 0x7f && bytes[1] === 0x45 &&
    bytes[2] === 0x4c && bytes[3] === 0x46 && bytes[EHDR.class] === ELFCLASS64 &&
    bytes[EHDR.data] === ELFDATA2LSB &&
    (bytes[EHDR.machine] | bytes[EHDR.machine + 1] << 8) === machine;
}

/**
 * Reads the ELF header and the `PT_LOAD` program headers. Throws a
 * {@link KexecError} naming `path` when the file is not a 64-bit
 * little-endian ELF, the headers run past the end, a segment's bytes lie
 * outside the file or its addresses overflow, or nothing is loadable.
 *
 * @example
 * ```ts
 * import { readElfExecutable } from "./exec.ts";
 * const f = new Uint8Array(0x1000);
 * const v = new DataView(f.buffer);
 * f.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
 * v.setUint16(0x10, 2, true);
 * v.setUint16(0x12, 62, true);
 * v.setBigUint64(0x18, 0x1000000n, true);
 * v.setBigUint64(0x20, 64n, true);
 * v.setUint16(0x36, 56, true);
 * v.setUint16(0x38, 1, true);
 * v.setUint32(64, 1, true);
 * v.setBigUint64(64 + 8, 0x200n, true);
 * v.setBigUint64(64 + 0x18, 0x1000000n, true);
 * v.setBigUint64(64 + 0x20, 0x100n, true);
 * v.setBigUint64(64 + 0x28, 0x2000n, true);
 * const elf = readElfExecutable(f, "vmlinux");
 * if (elf.loads[0].paddr !== 0x1000000 || elf.loads[0].memsz !== 0x2000) throw new Error();
 * ```
 */
export function readElfExecutable(bytes: Uint8Array, path: string): ElfExecutable {
  const fail = (what: string) =>
    new KexecError(`${path}: ${what}`, { hint: "the file is damaged or not an ELF executable" });
  if (
    bytes.length < EHDR.size || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c ||
    bytes[3] !== 0x46
  ) {
    throw fail("not an ELF file");
  }
  if (bytes[EHDR.class] !== ELFCLASS64 || bytes[EHDR.data] !== ELFDATA2LSB) {
    throw fail("not a 64-bit little-endian ELF file");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (at: number, what: string) => {
    const value = view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`${what} ${hex(value)} is too large`);
    return Number(value);
  };
  const phoff = u64(EHDR.phoff, "e_phoff");
  const phnum = view.getUint16(EHDR.phnum, true);
  const phentsize = view.getUint16(EHDR.phentsize, true);
  if (phnum === PN_XNUM || (phnum > 0 && phentsize !== PHDR.size)) {
    throw fail(`program headers of ${phentsize} bytes (${phnum}) are not ELF64's`);
  }
  if (phoff + phnum * PHDR.size > bytes.length) {
    throw fail(`the program headers (${phnum} at ${hex(phoff)}) run past the end of the file`);
  }
  const loads: ElfLoad[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR.size;
    if (view.getUint32(at + PHDR.type, true) !== PT_LOAD) continue;
    const load: ElfLoad = {
      offset: u64(at + PHDR.offset, "p_offset"),
      vaddr: view.getBigUint64(at + PHDR.vaddr, true),
      paddr: u64(at + PHDR.paddr, "p_paddr"),
      filesz: u64(at + PHDR.filesz, "p_filesz"),
      memsz: u64(at + PHDR.memsz, "p_memsz"),
      flags: view.getUint32(at + PHDR.flags, true),
      align: u64(at + PHDR.align, "p_align"),
    };
    if (load.filesz > load.memsz) {
      throw fail(`PT_LOAD ${loads.length} has p_filesz ${hex(load.filesz)} above p_memsz`);
    }
    if (load.offset + load.filesz > bytes.length) {
      throw fail(
        `PT_LOAD ${loads.length} (${load.filesz} bytes at offset ${hex(load.offset)}) runs ` +
          `past the end of the file (${bytes.length} bytes): truncated`,
      );
    }
    if (load.paddr + load.memsz > Number.MAX_SAFE_INTEGER) {
      throw fail(`PT_LOAD ${loads.length} ends beyond any physical address`);
    }
    loads.push(load);
  }
  if (loads.length === 0) throw fail("no PT_LOAD program header: nothing to load");
  return {
    type: view.getUint16(EHDR.type, true),
    machine: view.getUint16(EHDR.machine, true),
    entry: view.getBigUint64(EHDR.entry, true),
    loads,
  };
}
