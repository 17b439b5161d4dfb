/**
 * The loadable parts of an ELF kernel as a Multiboot boot loader reads them:
 * 32-bit (Xen's `xen.gz` holds an ELF32) or 64-bit, little-endian, i386 or
 * x86-64; every `PT_LOAD` goes to its physical address `p_paddr` (Multiboot
 * Specification 0.6.96, 3.1.4 "The address fields of Multiboot header": with
 * ELF, the boot loader loads from the program headers). Layouts from the
 * System V gABI ("ELF Header", "Program Header").
 *
 * @module
 */

import { KexecError } from "../../../errors.ts";
import { hex } from "../../../format.ts";

/** ELF header fields (gABI "ELF Header"); `[elf32, elf64]` where they differ. */
const EHDR = {
  class: 4,
  data: 5,
  type: 0x10,
  machine: 0x12,
  entry: 0x18,
  phoff: [0x1c, 0x20],
  phentsize: [0x2a, 0x36],
  phnum: [0x2c, 0x38],
  size: [52, 64],
} as const;

/** Program header fields (gABI "Program Header"), `[elf32, elf64]`. */
const PHDR = {
  type: [0x00, 0x00],
  offset: [0x04, 0x08],
  vaddr: [0x08, 0x10],
  paddr: [0x0c, 0x18],
  filesz: [0x10, 0x20],
  memsz: [0x14, 0x28],
  size: [32, 56],
} as const;

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const EM_386 = 3;
const EM_X86_64 = 62;
const PT_LOAD = 1;
/** Most program headers read: far above any kernel, small enough to bound the work. */
const MAX_PHNUM = 512;
const FOUR_GiB = 2 ** 32;

/** One `PT_LOAD`: file bytes `[offset, offset + filesz)` to `[paddr, paddr + memsz)`. */
export interface ElfLoadSegment {
  readonly offset: number;
  readonly paddr: number;
  /** Virtual address: 64 bits wide in a higher-half ELF64, hence a bigint. */
  readonly vaddr: bigint;
  readonly filesz: number;
  readonly memsz: number;
}

/** What {@link readMultibootElf} found. */
export interface MultibootElf {
  /** 32 or 64. */
  readonly bits: 32 | 64;
  /** `e_entry` translated to a physical address (see {@link readMultibootElf}). */
  readonly entry: number;
  /** Every non-empty `PT_LOAD`, in file order. */
  readonly loads: readonly ElfLoadSegment[];
}

/**
 * Cheap check: the ELF magic.
 *
 * @example
 * ```ts
 * import { isElf } from "./elf.ts";
 * if (!isElf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1])) || isElf(new Uint8Array(4))) {
 *   throw new Error();
 * }
 * ```
 */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= ELF_MAGIC.length && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Reads the `PT_LOAD` program headers of an x86 ELF kernel. The entry point
 * is translated like GNU GRUB does for higher-half kernels: when `e_entry`
 * lies in a segment's virtual range, it becomes the matching physical
 * address; otherwise it is taken as physical. Throws a {@link KexecError}
 * naming `path` for anything a boot loader cannot load: another class,
 * endianness, machine or type, headers or segment bytes past the end of the
 * file, `filesz > memsz`, a segment reaching above 4 GiB, no loadable
 * segment, or an entry point outside every segment.
 *
 * @example
 * ```ts
 * import { readMultibootElf } from "./elf.ts";
 * const f = new Uint8Array(0x200);
 * const v = new DataView(f.buffer);
 * f.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
 * v.setUint16(0x10, 2, true); // ET_EXEC
 * v.setUint16(0x12, 3, true); // EM_386
 * v.setUint32(0x18, 0x100010, true); // e_entry
 * v.setUint32(0x1c, 52, true); // e_phoff
 * v.setUint16(0x2a, 32, true);
 * v.setUint16(0x2c, 1, true);
 * v.setUint32(52, 1, true); // PT_LOAD
 * v.setUint32(52 + 4, 0x100, true); // p_offset
 * v.setUint32(52 + 8, 0x100000, true); // p_vaddr
 * v.setUint32(52 + 12, 0x100000, true); // p_paddr
 * v.setUint32(52 + 16, 0x100, true); // p_filesz
 * v.setUint32(52 + 20, 0x2000, true); // p_memsz
 * const elf = readMultibootElf(f, "kernel.elf");
 * if (elf.entry !== 0x100010 || elf.loads[0].memsz !== 0x2000) throw new Error();
 * ```
 */
export function readMultibootElf(bytes: Uint8Array, path: string): MultibootElf {
  const fail = (what: string) =>
    new KexecError(`kernel ${path}: ELF ${what}`, {
      hint: "give the kernel as its build produced it (an i386 or x86-64 ELF executable)",
    });
  if (!isElf(bytes) || bytes.length < EHDR.size[0]) throw fail("header is truncated");
  const cls = bytes[EHDR.class];
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) throw fail(`class ${cls} is unknown`);
  const w = cls === ELFCLASS32 ? 0 : 1;
  if (bytes.length < EHDR.size[w]) throw fail("header is truncated");
  if (bytes[EHDR.data] !== ELFDATA2LSB) throw fail("is big-endian");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(EHDR.type, true);
  if (type !== ET_EXEC && type !== ET_DYN) throw fail(`type ${type} is not an executable`);
  const machine = view.getUint16(EHDR.machine, true);
  if (machine !== EM_386 && machine !== EM_X86_64) {
    throw fail(`machine ${machine} is neither i386 (3) nor x86-64 (62)`);
  }
  const wide = (at: number) =>
    w === 0 ? BigInt(view.getUint32(at, true)) : view.getBigUint64(at, true);
  // Sizes, offsets and physical addresses: anything past 2^53 is past the file or 4 GiB.
  const word = (at: number) => {
    const value = wide(at);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);
  };
  const entry = wide(EHDR.entry);
  const phoff = word(EHDR.phoff[w]);
  const phentsize = view.getUint16(EHDR.phentsize[w], true);
  const phnum = view.getUint16(EHDR.phnum[w], true);
  if (phnum === 0 || phnum > MAX_PHNUM) throw fail(`has ${phnum} program headers`);
  if (phentsize < PHDR.size[w]) throw fail(`program header size ${phentsize} is too small`);
  if (phoff + phnum * phentsize > bytes.length) throw fail("program headers run past the end");

  const loads: ElfLoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (view.getUint32(at + PHDR.type[w], true) !== PT_LOAD) continue;
    const load = {
      offset: word(at + PHDR.offset[w]),
      vaddr: wide(at + PHDR.vaddr[w]),
      paddr: word(at + PHDR.paddr[w]),
      filesz: word(at + PHDR.filesz[w]),
      memsz: word(at + PHDR.memsz[w]),
    };
    if (load.memsz === 0) continue;
    if (load.filesz > load.memsz) {
      throw fail(`segment ${i} has filesz ${hex(load.filesz)} > memsz ${hex(load.memsz)}`);
    }
    if (load.offset + load.filesz > bytes.length) {
      throw fail(`segment ${i} runs past the end of the file (truncated?)`);
    }
    if (load.paddr + load.memsz > FOUR_GiB) {
      throw fail(
        `segment ${i} at ${hex(load.paddr)}+${hex(load.memsz)} reaches above 4 GiB, ` +
          "which a 32-bit Multiboot entry cannot address",
      );
    }
    loads.push(load);
  }
  if (loads.length === 0) throw fail("has no loadable segment");
  return { bits: w === 0 ? 32 : 64, entry: physicalEntry(entry, loads, fail), loads };
}

function physicalEntry(
  entry: bigint,
  loads: readonly ElfLoadSegment[],
  fail: (what: string) => KexecError,
): number {
  const byVirtual = loads.find((l) => entry >= l.vaddr && entry < l.vaddr + BigInt(l.memsz));
  if (byVirtual) return Number(entry - byVirtual.vaddr) + byVirtual.paddr;
  const physical = loads.some((l) => entry >= l.paddr && entry < l.paddr + l.memsz);
  if (physical) return Number(entry);
  throw fail(`entry point ${hex(entry)} lies in no loadable segment`);
}
