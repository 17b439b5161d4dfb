/**
 * The ELF64 core header ("elfcorehdr") a crash kernel turns into /proc/vmcore
 * (fs/proc/vmcore.c, parse_crash_elf64_headers): an ET_CORE ELF header
 * followed by program headers, in the order the kernel's own loader
 * (kernel/crash_core.c, crash_prepare_elf64_headers) and kexec-tools
 * (kexec/crashdump-elf.c) use:
 *
 * 1. one PT_NOTE per possible CPU, pointing at its `crash_notes` buffer (the
 *    panicking kernel writes NT_PRSTATUS notes there);
 * 2. one PT_NOTE for the VMCOREINFO note;
 * 3. one PT_LOAD for the kernel text mapping (virtual `_text`, KASLR included);
 * 4. one PT_LOAD per dumpable RAM range, mapped at `PAGE_OFFSET + paddr`.
 *
 * For every header `p_offset` is the physical address: vmcore reads the
 * crashed kernel's memory there. Nothing follows the headers; the buffer is
 * exactly `64 + 56 × e_phnum` bytes.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { ELF, ELF64_EHDR, ELF64_PHDR, ELF_MAGIC } from "./elf64.ts";
import type { AddressRange } from "./ranges.ts";
import { hex } from "../format.ts";

/** One CPU's crash note buffer (/sys/devices/system/cpu/cpuN/crash_notes{,_size}). */
export interface CpuCrashNote {
  /** The CPU number. */
  readonly cpu: number;
  /** Physical address of the buffer. */
  readonly address: number;
  /** Bytes in the buffer. */
  readonly size: number;
}

/** A note buffer in physical memory (the VMCOREINFO note of /sys/kernel/vmcoreinfo). */
export interface NoteBuffer {
  /** Physical address of the buffer. */
  readonly address: number;
  /** Bytes in the buffer. */
  readonly size: number;
}

/** The kernel image as mapped in the kernel-text area: `[_text, _end)`. */
export interface KernelTextMapping {
  /** Virtual address of `_text` (moved by KASLR). */
  readonly vaddr: bigint;
  /** Physical address of `_text`. */
  readonly paddr: number;
  /** `_end − _text`. */
  readonly size: number;
}

/** What goes into the header. */
export interface ElfCoreHeaderInput {
  /** e_machine, e.g. {@link ELF.EM_X86_64}. */
  readonly machine: number;
  /** Per-CPU note buffers, in CPU order. */
  readonly cpuNotes: readonly CpuCrashNote[];
  /** The VMCOREINFO note; omitted from the header when undefined. */
  readonly vmcoreinfo?: NoteBuffer;
  /** The kernel text PT_LOAD; omitted when undefined. */
  readonly kernelText?: KernelTextMapping;
  /** RAM to dump, already without the crash regions and excluded ranges. */
  readonly ram: readonly AddressRange[];
  /** Virtual address of physical 0 in the direct map. */
  readonly pageOffset: bigint;
}

/** One program header as written, with what it describes. */
export interface ElfCoreProgramHeader {
  /** Human-readable role: "cpu0 crash notes", "VMCOREINFO", "kernel text", "RAM". */
  readonly what: string;
  /** p_type (PT_NOTE, PT_LOAD). */
  readonly type: number;
  /** p_flags. */
  readonly flags: number;
  /** p_offset: where /proc/vmcore finds the bytes. */
  readonly offset: bigint;
  /** p_vaddr: the kernel's virtual address. */
  readonly vaddr: bigint;
  /** p_paddr: the physical address. */
  readonly paddr: bigint;
  /** p_filesz. */
  readonly filesz: bigint;
  /** p_memsz. */
  readonly memsz: bigint;
  /** p_align. */
  readonly align: bigint;
}

// e_phnum is a u16; PN_XNUM and above would need section 0, which vmcore does not read.
const MAX_PROGRAM_HEADERS = ELF.PN_XNUM - 1;

/**
 * The program headers of the core header, in the order they are written.
 *
 * @example
 * ```ts
 * import { elfCoreProgramHeaders } from "./elfcorehdr.ts";
 * const headers = elfCoreProgramHeaders({
 *   machine: 62,
 *   cpuNotes: [{ cpu: 0, address: 0x7fc1f000, size: 0x1b0 }],
 *   ram: [{ start: 0x100000, end: 0x40000000 }],
 *   pageOffset: 0xffff888000000000n,
 * });
 * if (headers.length !== 2 || headers[1].vaddr !== 0xffff888000100000n) throw new Error();
 * ```
 */
export function elfCoreProgramHeaders(input: ElfCoreHeaderInput): ElfCoreProgramHeader[] {
  const note = (what: string, address: number, size: number): ElfCoreProgramHeader => ({
    what,
    type: ELF.PT_NOTE,
    flags: 0,
    offset: BigInt(address),
    vaddr: 0n,
    paddr: BigInt(address),
    filesz: BigInt(size),
    memsz: BigInt(size),
    align: 0n,
  });
  const load = (
    what: string,
    paddr: number,
    vaddr: bigint,
    size: number,
  ): ElfCoreProgramHeader => ({
    what,
    type: ELF.PT_LOAD,
    flags: ELF.PF_RWX,
    offset: BigInt(paddr),
    vaddr,
    paddr: BigInt(paddr),
    filesz: BigInt(size),
    memsz: BigInt(size),
    align: 0n,
  });
  const headers: ElfCoreProgramHeader[] = input.cpuNotes.map((n) =>
    note(`cpu${n.cpu} crash notes`, n.address, n.size)
  );
  if (input.vmcoreinfo) {
    headers.push(note("VMCOREINFO", input.vmcoreinfo.address, input.vmcoreinfo.size));
  }
  if (input.kernelText) {
    const t = input.kernelText;
    headers.push(load("kernel text", t.paddr, t.vaddr, t.size));
  }
  for (const r of input.ram) {
    headers.push(load("RAM", r.start, input.pageOffset + BigInt(r.start), r.end - r.start));
  }
  return headers;
}

/**
 * Builds the header bytes. Throws a {@link KexecError} when there is nothing
 * to describe or more program headers than e_phnum can count.
 *
 * @example
 * ```ts
 * import { buildElfCoreHeader } from "./elfcorehdr.ts";
 * const bytes = buildElfCoreHeader({
 *   machine: 62,
 *   cpuNotes: [{ cpu: 0, address: 0x7fc1f000, size: 0x1b0 }],
 *   vmcoreinfo: { address: 0x2c4a000, size: 0x1000 },
 *   ram: [{ start: 0x100000, end: 0x40000000 }],
 *   pageOffset: 0xffff888000000000n,
 * });
 * const v = new DataView(bytes.buffer);
 * if (bytes.length !== 64 + 3 * 56 || v.getUint16(0x10, true) !== 4 || v.getUint16(0x38, true) !== 3) {
 *   throw new Error();
 * }
 * ```
 */
export function buildElfCoreHeader(input: ElfCoreHeaderInput): Uint8Array {
  const headers = elfCoreProgramHeaders(input);
  if (!headers.some((h) => h.type === ELF.PT_LOAD)) {
    throw new KexecError("the crash dump header would describe no memory at all", {
      hint: "/proc/iomem lists no System RAM outside the crash region; run with -d and report it",
    });
  }
  if (headers.length > MAX_PROGRAM_HEADERS) {
    throw new KexecError(
      `the crash dump header needs ${headers.length} program headers; ELF allows ` +
        `${MAX_PROGRAM_HEADERS}`,
      { hint: "load the crash kernel with kexec_file_load (-s -p)" },
    );
  }
  const bytes = new Uint8Array(ELF64_EHDR.size + headers.length * ELF64_PHDR.size);
  const view = new DataView(bytes.buffer);
  bytes.set(ELF_MAGIC, ELF64_EHDR.magic);
  view.setUint8(ELF64_EHDR.class, ELF.CLASS64);
  view.setUint8(ELF64_EHDR.data, ELF.DATA2LSB);
  view.setUint8(ELF64_EHDR.identVersion, ELF.EV_CURRENT);
  view.setUint8(ELF64_EHDR.osabi, ELF.OSABI_NONE);
  view.setUint16(ELF64_EHDR.type, ELF.ET_CORE, true);
  view.setUint16(ELF64_EHDR.machine, input.machine, true);
  view.setUint32(ELF64_EHDR.version, ELF.EV_CURRENT, true);
  view.setBigUint64(ELF64_EHDR.entry, 0n, true);
  view.setBigUint64(ELF64_EHDR.phoff, BigInt(ELF64_EHDR.size), true);
  view.setBigUint64(ELF64_EHDR.shoff, 0n, true);
  view.setUint32(ELF64_EHDR.flags, 0, true);
  view.setUint16(ELF64_EHDR.ehsize, ELF64_EHDR.size, true);
  view.setUint16(ELF64_EHDR.phentsize, ELF64_PHDR.size, true);
  view.setUint16(ELF64_EHDR.phnum, headers.length, true);
  view.setUint16(ELF64_EHDR.shentsize, 0, true);
  view.setUint16(ELF64_EHDR.shnum, 0, true);
  view.setUint16(ELF64_EHDR.shstrndx, 0, true);
  headers.forEach((h, i) => {
    const at = ELF64_EHDR.size + i * ELF64_PHDR.size;
    view.setUint32(at + ELF64_PHDR.type, h.type, true);
    view.setUint32(at + ELF64_PHDR.flags, h.flags, true);
    view.setBigUint64(at + ELF64_PHDR.offset, h.offset, true);
    view.setBigUint64(at + ELF64_PHDR.vaddr, h.vaddr, true);
    view.setBigUint64(at + ELF64_PHDR.paddr, h.paddr, true);
    view.setBigUint64(at + ELF64_PHDR.filesz, h.filesz, true);
    view.setBigUint64(at + ELF64_PHDR.memsz, h.memsz, true);
    view.setBigUint64(at + ELF64_PHDR.align, h.align, true);
  });
  return bytes;
}

/**
 * Lines summarising the header for `-d` and `--dry-run`: counts, dumped
 * bytes, then one line per program header.
 *
 * @example
 * ```ts
 * import { describeElfCoreHeader } from "./elfcorehdr.ts";
 * const lines = describeElfCoreHeader([{
 *   what: "RAM", type: 1, flags: 7, offset: 0x100000n, vaddr: 0xffff888000100000n,
 *   paddr: 0x100000n, filesz: 0x1000n, memsz: 0x1000n, align: 0n,
 * }]);
 * if (!lines[0].includes("1 program headers") || !lines[1].includes("0xffff888000100000")) {
 *   throw new Error(lines.join("\n"));
 * }
 * ```
 */
export function describeElfCoreHeader(headers: readonly ElfCoreProgramHeader[]): string[] {
  const count = (pred: (h: ElfCoreProgramHeader) => boolean) => headers.filter(pred).length;
  const ramBytes = headers
    .filter((h) => h.what === "RAM")
    .reduce((sum, h) => sum + h.memsz, 0n);
  const summary = `ELF64 ET_CORE, ${headers.length} program headers ` +
    `(${count((h) => h.type === ELF.PT_NOTE && h.what !== "VMCOREINFO")} CPU notes, ` +
    `${count((h) => h.what === "VMCOREINFO")} VMCOREINFO, ` +
    `${count((h) => h.what === "kernel text")} kernel text, ` +
    `${count((h) => h.what === "RAM")} RAM), ` +
    `${ELF64_EHDR.size + headers.length * ELF64_PHDR.size} bytes; RAM dumped: ` +
    `${ramBytes} bytes (${(Number(ramBytes) / 2 ** 20).toFixed(1)} MiB)`;
  return [
    summary,
    ...headers.map((h) =>
      `  ${h.type === ELF.PT_NOTE ? "PT_NOTE" : "PT_LOAD"} ${h.what}: paddr ${hex(h.paddr)}, ` +
      `size ${hex(h.memsz)}` + (h.type === ELF.PT_LOAD ? `, vaddr ${hex(h.vaddr)}` : "")
    ),
  ];
}
