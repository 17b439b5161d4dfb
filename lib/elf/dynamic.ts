/**
 * Reads what the dynamic loader needs from an ELF64 executable or shared
 * library: the program interpreter (`PT_INTERP`), the needed libraries
 * (`DT_NEEDED`), the library's own name (`DT_SONAME`) and search paths
 * (`DT_RUNPATH`, `DT_RPATH`). Used to pack a dynamically linked program such
 * as `deno` with exactly the libraries it loads.
 *
 * Layouts from the System V gABI ("ELF Header", "Program Header", "Dynamic
 * Section") and the x86_64/AArch64 psABIs; both byte orders are read.
 *
 * The reader works on random access: give it the whole file, or a function
 * returning the bytes at an offset, so a 100 MB binary need not be read whole.
 *
 * @example
 * ```ts
 * import { readElfDynamic } from "./dynamic.ts";
 * const exe = Deno.readFileSync(Deno.execPath());
 * const info = readElfDynamic(exe);
 * if (!info.needed.includes("libc.so.6")) throw new Error(info.needed.join(","));
 * ```
 *
 * @module
 */

import { KexecError } from "../errors.ts";

/** Returns `length` bytes at `offset` (fewer only at the end of the file). */
export type ElfByteSource = (offset: number, length: number) => Uint8Array;

/** What {@link readElfDynamic} found. */
export interface ElfDynamicInfo {
  /** `e_machine`, e.g. 62 (EM_X86_64) or 183 (EM_AARCH64). */
  machine: number;
  /** `e_type`: 2 = executable, 3 = shared object or PIE. */
  type: number;
  /** True for little-endian files. */
  littleEndian: boolean;
  /** Program interpreter path from `PT_INTERP`; undefined for static binaries and most libraries. */
  interpreter?: string;
  /** `DT_NEEDED` entries, in file order. */
  needed: string[];
  /** `DT_SONAME`, if present. */
  soname?: string;
  /** `DT_RUNPATH` split at ":", if present (may contain `$ORIGIN`). */
  runpath?: string[];
  /** `DT_RPATH` split at ":", if present (ignored by the loader when `DT_RUNPATH` exists). */
  rpath?: string[];
}

/** `e_machine` values of the architectures this project supports. */
export const EM_X86_64 = 62;
/** `e_machine` of arm64. */
export const EM_AARCH64 = 183;

// ELF identification (gABI, "ELF Identification").
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"
const EI_CLASS = 4;
const EI_DATA = 5;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;

// Elf64_Ehdr field offsets (gABI, "ELF Header"); 64 bytes in all.
const EHDR_SIZE = 64;
const E_TYPE = 0x10;
const E_MACHINE = 0x12;
const E_PHOFF = 0x20;
const E_PHENTSIZE = 0x36;
const E_PHNUM = 0x38;

// Elf64_Phdr field offsets (gABI, "Program Header"); 56 bytes each.
const PHDR_SIZE = 56;
const P_TYPE = 0x00;
const P_OFFSET = 0x08;
const P_VADDR = 0x10;
const P_FILESZ = 0x20;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
// e_phnum of 0xffff means "look in section 0" (PN_XNUM); no program we pack needs it.
const PN_XNUM = 0xffff;

// Elf64_Dyn: d_tag (int64) then d_val/d_ptr (uint64) (gABI, "Dynamic Section").
const DYN_SIZE = 16;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

// Sanity bounds so that a corrupt file cannot make us read gigabytes.
const MAX_PHNUM = 4096;
// The kernel's ELF loader refuses a program header table above 64 KiB
// (fs/binfmt_elf.c load_elf_phdrs); a larger e_phentsize × e_phnum is corrupt.
const MAX_PHDR_TABLE_SIZE = 65536;
const MAX_INTERP_LENGTH = 4096;
const MAX_DYNAMIC_SIZE = 1 << 20;
const MAX_DYNSTR_SIZE = 16 << 20;

interface LoadSegment {
  offset: number;
  vaddr: number;
  filesz: number;
}

function sourceOf(file: Uint8Array | ElfByteSource): ElfByteSource {
  if (typeof file === "function") return file;
  return (offset, length) => file.subarray(offset, offset + length);
}

function malformed(what: string, name: string): KexecError {
  return new KexecError(`${name}: not a usable ELF64 file: ${what}`);
}

function readExactly(
  read: ElfByteSource,
  offset: number,
  length: number,
  what: string,
  name: string,
) {
  const bytes = read(offset, length);
  if (bytes.length < length) throw malformed(`${what} lies beyond the end of the file`, name);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(view: DataView, at: number, le: boolean, what: string, name: string): number {
  const value = view.getBigUint64(at, le);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw malformed(`${what} 0x${value.toString(16)} is too large`, name);
  }
  return Number(value);
}

function cString(bytes: Uint8Array, at: number, name: string): string {
  if (at >= bytes.length) throw malformed(`string offset ${at} outside the string table`, name);
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  if (end === bytes.length) throw malformed(`unterminated string at ${at}`, name);
  return new TextDecoder().decode(bytes.subarray(at, end));
}

/**
 * Parses the ELF header, program headers and dynamic section of an ELF64
 * file. `name` only labels error messages.
 *
 * @throws {KexecError} when the file is not ELF64 or its tables point outside it.
 *
 * @example
 * ```ts
 * import { EM_X86_64, EM_AARCH64, readElfDynamic } from "./dynamic.ts";
 * const f = Deno.openSync(Deno.execPath());
 * const read = (offset: number, length: number) => {
 *   const buf = new Uint8Array(length);
 *   f.seekSync(offset, Deno.SeekMode.Start);
 *   let got = 0;
 *   while (got < length) {
 *     const n = f.readSync(buf.subarray(got));
 *     if (n === null) break;
 *     got += n;
 *   }
 *   return buf.subarray(0, got);
 * };
 * const info = readElfDynamic(read, Deno.execPath());
 * f.close();
 * if (![EM_X86_64, EM_AARCH64].includes(info.machine)) throw new Error(`machine ${info.machine}`);
 * if (!info.interpreter?.includes("ld-linux")) throw new Error(`interp ${info.interpreter}`);
 * ```
 */
export function readElfDynamic(
  file: Uint8Array | ElfByteSource,
  name = "ELF file",
): ElfDynamicInfo {
  const read = sourceOf(file);
  const ident = read(0, EHDR_SIZE);
  if (ident.length < EHDR_SIZE || ELF_MAGIC.some((b, i) => ident[i] !== b)) {
    throw malformed("no ELF magic", name);
  }
  if (ident[EI_CLASS] !== ELFCLASS64) throw malformed("not a 64-bit (ELFCLASS64) file", name);
  if (ident[EI_DATA] !== ELFDATA2LSB && ident[EI_DATA] !== ELFDATA2MSB) {
    throw malformed(`unknown byte order ${ident[EI_DATA]}`, name);
  }
  const le = ident[EI_DATA] === ELFDATA2LSB;
  const ehdr = new DataView(ident.buffer, ident.byteOffset, EHDR_SIZE);
  const type = ehdr.getUint16(E_TYPE, le);
  const machine = ehdr.getUint16(E_MACHINE, le);
  const phoff = u64(ehdr, E_PHOFF, le, "e_phoff", name);
  const phentsize = ehdr.getUint16(E_PHENTSIZE, le);
  const phnum = ehdr.getUint16(E_PHNUM, le);
  const info: ElfDynamicInfo = { machine, type, littleEndian: le, needed: [] };
  if (phnum === 0) return info;
  if (phnum === PN_XNUM || phnum > MAX_PHNUM) {
    throw malformed(`e_phnum ${phnum} not supported`, name);
  }
  if (phentsize < PHDR_SIZE) throw malformed(`e_phentsize ${phentsize} < ${PHDR_SIZE}`, name);
  if (phentsize * phnum > MAX_PHDR_TABLE_SIZE) {
    throw malformed(
      `program header table of ${phnum} × ${phentsize} bytes exceeds ${MAX_PHDR_TABLE_SIZE}`,
      name,
    );
  }

  const phdrs = readExactly(read, phoff, phentsize * phnum, "program header table", name);
  const loads: LoadSegment[] = [];
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    const pType = phdrs.getUint32(at + P_TYPE, le);
    const offset = u64(phdrs, at + P_OFFSET, le, "p_offset", name);
    const filesz = u64(phdrs, at + P_FILESZ, le, "p_filesz", name);
    if (pType === PT_LOAD) {
      loads.push({ offset, filesz, vaddr: u64(phdrs, at + P_VADDR, le, "p_vaddr", name) });
    } else if (pType === PT_DYNAMIC) {
      dynamic = { offset, size: filesz };
    } else if (pType === PT_INTERP) {
      if (filesz === 0 || filesz > MAX_INTERP_LENGTH) {
        throw malformed(`PT_INTERP size ${filesz}`, name);
      }
      const view = readExactly(read, offset, filesz, "PT_INTERP", name);
      info.interpreter = cString(new Uint8Array(view.buffer, view.byteOffset, filesz), 0, name);
    }
  }
  if (!dynamic) return info;
  if (dynamic.size > MAX_DYNAMIC_SIZE) throw malformed(`PT_DYNAMIC size ${dynamic.size}`, name);

  const dyn = readExactly(
    read,
    dynamic.offset,
    dynamic.size - (dynamic.size % DYN_SIZE),
    "PT_DYNAMIC",
    name,
  );
  const tags: { tag: number; value: number }[] = [];
  for (let at = 0; at + DYN_SIZE <= dyn.byteLength; at += DYN_SIZE) {
    const tag = dyn.getBigInt64(at, le);
    if (tag === BigInt(DT_NULL)) break;
    // Only small, known tags matter; processor- and OS-specific ones are skipped unread.
    if (tag < 0n || tag > BigInt(DT_RUNPATH)) continue;
    tags.push({ tag: Number(tag), value: u64(dyn, at + 8, le, `d_val of tag ${tag}`, name) });
  }
  const strtabAddr = tags.find((t) => t.tag === DT_STRTAB)?.value;
  const strsz = tags.find((t) => t.tag === DT_STRSZ)?.value;
  const usesStrings = tags.some((t) =>
    [DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH].includes(t.tag)
  );
  if (!usesStrings) return info;
  if (strtabAddr === undefined || strsz === undefined) {
    throw malformed("DT_STRTAB or DT_STRSZ missing", name);
  }
  if (strsz > MAX_DYNSTR_SIZE) throw malformed(`DT_STRSZ ${strsz}`, name);
  // DT_STRTAB is a virtual address; the PT_LOAD segment containing it gives the file offset.
  const segment = loads.find((s) =>
    strtabAddr >= s.vaddr && strtabAddr + strsz <= s.vaddr + s.filesz
  );
  if (!segment) {
    throw malformed(`DT_STRTAB 0x${strtabAddr.toString(16)} is in no PT_LOAD segment`, name);
  }
  const strView = readExactly(
    read,
    segment.offset + (strtabAddr - segment.vaddr),
    strsz,
    "dynamic string table",
    name,
  );
  const strings = new Uint8Array(strView.buffer, strView.byteOffset, strsz);

  for (const { tag, value } of tags) {
    if (tag === DT_NEEDED) info.needed.push(cString(strings, value, name));
    else if (tag === DT_SONAME) info.soname = cString(strings, value, name);
    else if (tag === DT_RUNPATH) {
      info.runpath = cString(strings, value, name).split(":").filter((p) => p);
    } else if (tag === DT_RPATH) {
      info.rpath = cString(strings, value, name).split(":").filter((p) => p);
    }
  }
  return info;
}

/** Directories a loader searches after RPATH/RUNPATH when there is no ld.so.cache, per machine. */
const DEFAULT_LIBRARY_DIRS: Record<number, string[]> = {
  [EM_X86_64]: [
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
  ],
  [EM_AARCH64]: [
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
  ],
};

/**
 * The directories glibc's loader searches on its own (without `/etc/ld.so.cache`)
 * for a machine: Debian's multiarch directories first, then the classic ones.
 * A library placed in the first of them is found in an initramfs that has no cache.
 *
 * @example
 * ```ts
 * import { defaultLibraryDirs, EM_X86_64 } from "./dynamic.ts";
 * if (defaultLibraryDirs(EM_X86_64)[0] !== "/lib/x86_64-linux-gnu") throw new Error();
 * ```
 */
export function defaultLibraryDirs(machine: number): string[] {
  return [...(DEFAULT_LIBRARY_DIRS[machine] ?? ["/lib64", "/usr/lib64", "/lib", "/usr/lib"])];
}

/**
 * Directories to search, in order, for the `DT_NEEDED` libraries of an object
 * found in `originDir`, following ld.so(8): `DT_RPATH` (only when there is no
 * `DT_RUNPATH`), then `extraDirs` (the role of `LD_LIBRARY_PATH`), then
 * `DT_RUNPATH`, then `systemDirs` (the role of ld.so.cache and the defaults).
 * `$ORIGIN`/`${ORIGIN}` expand to `originDir`; `$LIB` and `$PLATFORM` are not
 * expanded, and paths containing them are dropped.
 *
 * @example
 * ```ts
 * import { librarySearchDirs } from "./dynamic.ts";
 * const dirs = librarySearchDirs(
 *   { runpath: ["$ORIGIN/../lib"] },
 *   "/opt/app/bin",
 *   [],
 *   ["/lib"],
 * );
 * if (dirs.join(" ") !== "/opt/app/lib /lib") throw new Error(dirs.join(" "));
 * ```
 */
export function librarySearchDirs(
  object: Pick<ElfDynamicInfo, "runpath" | "rpath">,
  originDir: string,
  extraDirs: string[],
  systemDirs: string[],
): string[] {
  const expand = (dirs: string[] | undefined) =>
    (dirs ?? [])
      .map((d) => d.replaceAll("${ORIGIN}", originDir).replaceAll("$ORIGIN", originDir))
      .filter((d) => !d.includes("$") && d.startsWith("/"))
      .map(normalizeDir);
  const ordered = [
    ...(object.runpath ? [] : expand(object.rpath)),
    ...extraDirs.map(normalizeDir),
    ...expand(object.runpath),
    ...systemDirs.map(normalizeDir),
  ];
  return [...new Set(ordered)];
}

function normalizeDir(dir: string): string {
  const out: string[] = [];
  for (const part of dir.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}
