/**
 * The VMCOREINFO note of /proc/kcore. Since Linux 4.19 the running kernel's
 * /proc/kcore carries, in its PT_NOTE segment, the same VMCOREINFO text a
 * crash dump will carry (fs/proc/kcore.c `append_kcore_note(…,
 * VMCOREINFO_NOTE_NAME, 0, vmcoreinfo_data, …)`): `KEY=VALUE` lines such as
 * `NUMBER(VA_BITS)=48`, `NUMBER(PHYS_OFFSET)=0x40000000`,
 * `NUMBER(kimage_voffset)=0x…` and `KERNELOFFSET=…` (kernel/vmcore_info.c
 * and the architectures' arch_crash_save_vmcoreinfo). /sys/kernel/vmcoreinfo
 * only gives the note's physical address, so this is the one place user
 * space can read what dump tools will read.
 *
 * Note records are `Elf64_Nhdr` (namesz, descsz, type; u32 each) followed by
 * the name and the descriptor, each padded to 4 bytes (gABI, "Note Section").
 *
 * @module
 */

import { ELF, ELF64_EHDR, ELF64_PHDR, ELF_MAGIC } from "./elf64.ts";

/** Name of the note (include/linux/vmcore_info.h VMCOREINFO_NOTE_NAME). */
export const VMCOREINFO_NOTE_NAME = "VMCOREINFO";

// Elf64_Nhdr: u32 n_namesz, u32 n_descsz, u32 n_type.
const NHDR_SIZE = 12;
const NOTE_ALIGN = 4;
// The kernel's VMCOREINFO_BYTES is one page; anything far larger is not it.
const MAX_VMCOREINFO_BYTES = 64 * 1024;

/** Where a PT_NOTE segment of /proc/kcore lies in the file. */
export interface KcoreNoteSegment {
  readonly offset: number;
  readonly size: number;
}

const align4 = (n: number) => Math.ceil(n / NOTE_ALIGN) * NOTE_ALIGN;

/**
 * The PT_NOTE segments named by a core file's program headers (which
 * `bytes` must hold), or [] when `bytes` is not a little-endian ELF64 header.
 *
 * @example
 * ```ts
 * import { kcoreNoteSegments } from "./kcore_notes.ts";
 * const b = new Uint8Array(64 + 56);
 * const v = new DataView(b.buffer);
 * b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
 * v.setBigUint64(0x20, 64n, true);
 * v.setUint16(0x36, 56, true);
 * v.setUint16(0x38, 1, true);
 * v.setUint32(64, 4, true); // PT_NOTE
 * v.setBigUint64(64 + 8, 0x1000n, true);
 * v.setBigUint64(64 + 0x20, 0x200n, true);
 * const [notes] = kcoreNoteSegments(b);
 * if (notes.offset !== 0x1000 || notes.size !== 0x200) throw new Error();
 * ```
 */
export function kcoreNoteSegments(bytes: Uint8Array): KcoreNoteSegment[] {
  if (bytes.length < ELF64_EHDR.size || ELF_MAGIC.some((b, i) => bytes[i] !== b)) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (
    view.getUint8(ELF64_EHDR.class) !== ELF.CLASS64 ||
    view.getUint8(ELF64_EHDR.data) !== ELF.DATA2LSB ||
    view.getUint16(ELF64_EHDR.phentsize, true) !== ELF64_PHDR.size
  ) {
    return [];
  }
  const phoff = view.getBigUint64(ELF64_EHDR.phoff, true);
  const phnum = view.getUint16(ELF64_EHDR.phnum, true);
  if (phoff + BigInt(phnum * ELF64_PHDR.size) > BigInt(bytes.length)) return [];
  const segments: KcoreNoteSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = Number(phoff) + i * ELF64_PHDR.size;
    if (view.getUint32(at + ELF64_PHDR.type, true) !== ELF.PT_NOTE) continue;
    const offset = view.getBigUint64(at + ELF64_PHDR.offset, true);
    const size = view.getBigUint64(at + ELF64_PHDR.filesz, true);
    if (offset + size > BigInt(Number.MAX_SAFE_INTEGER)) continue;
    segments.push({ offset: Number(offset), size: Number(size) });
  }
  return segments;
}

/**
 * The descriptor of the first note named {@link VMCOREINFO_NOTE_NAME} in a
 * note segment's bytes, as text; undefined when there is none or the
 * records are cut short.
 *
 * @example
 * ```ts
 * import { findVmcoreinfoNote } from "./kcore_notes.ts";
 * const enc = new TextEncoder();
 * const desc = enc.encode("NUMBER(VA_BITS)=48\n");
 * const note = new Uint8Array(12 + 12 + Math.ceil(desc.length / 4) * 4);
 * const v = new DataView(note.buffer);
 * v.setUint32(0, 11, true);
 * v.setUint32(4, desc.length, true);
 * note.set(enc.encode("VMCOREINFO\0"), 12);
 * note.set(desc, 24);
 * if (findVmcoreinfoNote(note) !== "NUMBER(VA_BITS)=48\n") throw new Error();
 * ```
 */
export function findVmcoreinfoNote(notes: Uint8Array): string | undefined {
  const view = new DataView(notes.buffer, notes.byteOffset, notes.byteLength);
  const decoder = new TextDecoder();
  let at = 0;
  while (at + NHDR_SIZE <= notes.length) {
    const namesz = view.getUint32(at, true);
    const descsz = view.getUint32(at + 4, true);
    const nameAt = at + NHDR_SIZE;
    const descAt = nameAt + align4(namesz);
    const next = descAt + align4(descsz);
    if (next > notes.length) return undefined;
    const name = decoder.decode(notes.subarray(nameAt, nameAt + namesz)).replace(/\0+$/, "");
    if (name === VMCOREINFO_NOTE_NAME && descsz <= MAX_VMCOREINFO_BYTES) {
      return decoder.decode(notes.subarray(descAt, descAt + descsz));
    }
    at = next;
  }
  return undefined;
}

/**
 * `KEY=VALUE` lines of VMCOREINFO text as a map (the first value of a key
 * wins; lines without `=` are ignored).
 *
 * @example
 * ```ts
 * import { parseVmcoreinfoText } from "./kcore_notes.ts";
 * const m = parseVmcoreinfoText("OSRELEASE=6.1.0\nNUMBER(PHYS_OFFSET)=0x40000000\nKERNELOFFSET=0\n");
 * if (m.get("NUMBER(PHYS_OFFSET)") !== "0x40000000" || m.get("OSRELEASE") !== "6.1.0") throw new Error();
 * ```
 */
export function parseVmcoreinfoText(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    if (!entries.has(key)) entries.set(key, line.slice(eq + 1).replace(/\0+$/, "").trim());
  }
  return entries;
}

/**
 * A VMCOREINFO number as the kernel prints it: `NUMBER(x)` with "%d" or
 * "0x%llx", `KERNELOFFSET` with "%lx" (hexadecimal without a prefix, pass
 * `radix` 16). Undefined when absent or not a number.
 *
 * @example
 * ```ts
 * import { vmcoreinfoNumber } from "./kcore_notes.ts";
 * const m = new Map([["NUMBER(VA_BITS)", "48"], ["NUMBER(kimage_voffset)", "0xffff7fffc0000000"]]);
 * if (vmcoreinfoNumber(m, "NUMBER(VA_BITS)") !== 48n) throw new Error();
 * if (vmcoreinfoNumber(m, "NUMBER(kimage_voffset)") !== 0xffff7fffc0000000n) throw new Error();
 * ```
 */
export function vmcoreinfoNumber(
  entries: ReadonlyMap<string, string>,
  key: string,
  radix: 10 | 16 = 10,
): bigint | undefined {
  const text = entries.get(key);
  if (text === undefined) return undefined;
  if (/^0x[0-9a-f]{1,16}$/i.test(text)) return BigInt(text);
  if (radix === 16 && /^[0-9a-f]{1,16}$/i.test(text)) return BigInt(`0x${text}`);
  if (radix === 10 && /^-?\d{1,20}$/.test(text)) return BigInt(text);
  return undefined;
}
