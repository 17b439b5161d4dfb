/**
 * What a crash load reads from the running kernel (Documentation/ABI/testing/
 * sysfs-devices-system-cpu and sysfs-kernel-vmcoreinfo,
 * Documentation/filesystems/proc.rst): the possible CPUs and their crash note
 * buffers, the VMCOREINFO note, `_text`/`_stext`/`_end` from /proc/kallsyms,
 * the program headers of /proc/kcore and the /proc/iomem tree. Each text
 * format has a pure parser; {@link readCrashSources} is the only function that
 * touches the machine, and only through the {@link System}.
 *
 * Missing optional sources are not errors: they leave a field undefined and a
 * line in `notes`, and the header is built without what they would give.
 *
 * @module
 */

import { PATHS } from "../abi.ts";
import { KexecError } from "../errors.ts";
import type { IomemNode } from "../memory/iomem.ts";
import { readIomem } from "../memory/source.ts";
import type { System } from "../sys/system.ts";
import { ELF, ELF64_EHDR, ELF64_PHDR, ELF_MAGIC } from "./elf64.ts";
import type { CpuCrashNote, NoteBuffer } from "./elfcorehdr.ts";
import { derivePerCpuNotes, type PerCpuNotes } from "./percpu_notes.ts";
import { findVmcoreinfoNote, kcoreNoteSegments, parseVmcoreinfoText } from "./kcore_notes.ts";

/** sysfs directory of the CPUs (cpuN/crash_notes, cpuN/crash_notes_size). */
export const CPU_SYSFS_DIR = "/sys/devices/system/cpu";
/**
 * Size kexec-tools assumes when cpuN/crash_notes_size is missing
 * (kexec/crashdump.c get_crash_notes_per_cpu: MAX_NOTE_BYTES).
 */
export const DEFAULT_CRASH_NOTES_SIZE = 1024;
/** Bytes of /proc/kcore read first; kexec-tools reads the same 64 KiB. */
export const KCORE_HEADER_READ = 64 * 1024;
// A corrupt or unexpected kcore must not make us read more than this.
const KCORE_HEADER_MAX = 16 * 1024 * 1024;
// p_paddr of a /proc/kcore segment without a physical address.
const KCORE_NO_PADDR = 0xffffffffffffffffn;
// Far above any kernel's CONFIG_NR_CPUS; a larger number is a corrupt list,
// and walking a range up to it would not end.
const MAX_CPU_NUMBER = 65535;

/**
 * Kernel symbols used for the kernel text PT_LOAD and for the crash notes of
 * CPUs without a sysfs directory; undefined when absent or hidden.
 */
export interface KernelSymbols {
  /** Address of `_text`. */
  readonly text?: bigint;
  /** Address of `_stext`. */
  readonly stext?: bigint;
  /** Address of `_end`. */
  readonly end?: bigint;
  /** Address of the `crash_notes` per-CPU pointer variable. */
  readonly crashNotes?: bigint;
  /** Address of the `__per_cpu_offset` array. */
  readonly perCpuOffset?: bigint;
}

/** One PT_LOAD of /proc/kcore. */
export interface KcoreLoad {
  /** Virtual address (p_vaddr). */
  readonly vaddr: bigint;
  /** Physical address, when the kernel gives one (RAM and kernel text). */
  readonly paddr?: bigint;
  /** Size (p_memsz). */
  readonly memsz: bigint;
  /** Where its bytes are in /proc/kcore (p_offset). */
  readonly offset?: bigint;
}

/** Everything read for a crash load. */
export interface CrashSources {
  /** The /proc/iomem tree. */
  readonly iomem: IomemNode[];
  /** Crash note buffers of the possible CPUs that have one. */
  readonly cpuNotes: CpuCrashNote[];
  /** /sys/kernel/vmcoreinfo, when present. */
  readonly vmcoreinfo?: NoteBuffer;
  /** /proc/kallsyms symbols, when readable and not hidden by kptr_restrict. */
  readonly symbols?: KernelSymbols;
  /** /proc/kcore PT_LOADs, when readable. */
  readonly kcoreLoads?: KcoreLoad[];
  /** The VMCOREINFO entries of /proc/kcore's note segment (Linux ≥ 4.19), when readable. */
  readonly kcoreVmcoreinfo?: ReadonlyMap<string, string>;
  /** What was missing or unusable, for -d and --dry-run. */
  readonly notes: string[];
}

function malformed(path: string, text: string, expected: string): KexecError {
  return new KexecError(`${path}: cannot parse '${text.trim()}' (expected ${expected})`, {
    hint: "run again with -d and report it, or load with kexec_file_load (-s -p)",
  });
}

function parseHex(text: string, path: string): number {
  const digits = text.trim().replace(/^0x/i, "");
  if (!/^[0-9a-f]{1,16}$/i.test(digits)) throw malformed(path, text, "a hexadecimal number");
  const value = BigInt(`0x${digits}`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw malformed(path, text, "a physical address below 2^53");
  }
  return Number(value);
}

/**
 * Parses a CPU list as sysfs prints it (`0-3,8`), in ascending order without
 * duplicates. An empty file is an empty list.
 *
 * @example
 * ```ts
 * import { parseCpuList } from "./sources.ts";
 * if (parseCpuList("0-2,8\n").join() !== "0,1,2,8") throw new Error();
 * ```
 */
export function parseCpuList(text: string, path: string = PATHS.cpuPossible): number[] {
  const cpus = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === "") return [];
  for (const part of trimmed.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw malformed(path, text, "a CPU list such as 0-3,8");
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw malformed(path, text, "ascending CPU ranges");
    if (last > MAX_CPU_NUMBER) throw malformed(path, text, `CPU numbers up to ${MAX_CPU_NUMBER}`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/**
 * Parses cpuN/crash_notes: a hexadecimal physical address, usually without `0x`.
 *
 * @example
 * ```ts
 * import { parseCrashNotesAddress } from "./sources.ts";
 * if (parseCrashNotesAddress("7fc1f458\n") !== 0x7fc1f458) throw new Error();
 * ```
 */
export function parseCrashNotesAddress(text: string, path = "crash_notes"): number {
  return parseHex(text, path);
}

/**
 * Parses cpuN/crash_notes_size (decimal); {@link DEFAULT_CRASH_NOTES_SIZE}
 * when the file is missing (older kernels).
 *
 * @example
 * ```ts
 * import { parseCrashNotesSize } from "./sources.ts";
 * if (parseCrashNotesSize("432\n") !== 432 || parseCrashNotesSize(undefined) !== 1024) {
 *   throw new Error();
 * }
 * ```
 */
export function parseCrashNotesSize(text: string | undefined, path = "crash_notes_size"): number {
  if (text === undefined) return DEFAULT_CRASH_NOTES_SIZE;
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) === 0 || !Number.isSafeInteger(Number(t))) {
    throw malformed(path, text, "a positive decimal size below 2^53");
  }
  return Number(t);
}

/**
 * Parses /sys/kernel/vmcoreinfo: `<paddr> <size>`, both hexadecimal, with or
 * without `0x` (older kernels print neither, newer ones pad the address).
 *
 * @example
 * ```ts
 * import { parseVmcoreinfo } from "./sources.ts";
 * const old = parseVmcoreinfo("2c4a000 1024\n");
 * const now = parseVmcoreinfo("0x0000000002c4a000 1024\n");
 * if (old.address !== 0x2c4a000 || now.address !== 0x2c4a000 || now.size !== 0x1024) {
 *   throw new Error();
 * }
 * ```
 */
export function parseVmcoreinfo(text: string, path: string = PATHS.vmcoreinfo): NoteBuffer {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 2) throw malformed(path, text, "'<address> <size>' in hexadecimal");
  const size = parseHex(parts[1], path);
  if (size === 0) throw malformed(path, text, "a nonzero size");
  return { address: parseHex(parts[0], path), size };
}

/**
 * Finds `_text`, `_stext` and `_end` in /proc/kallsyms text. Symbols shown as
 * zero (kptr_restrict, no CAP_SYSLOG) count as absent.
 *
 * @example
 * ```ts
 * import { parseKallsyms } from "./sources.ts";
 * const s = parseKallsyms(
 *   "ffffffff9a000000 T _text\nffffffff9a000000 T startup_64\n" +
 *     "ffffffff9a001000 T _stext\nffffffff9d400000 B _end\n",
 * );
 * if (s.text !== 0xffffffff9a000000n || s.end !== 0xffffffff9d400000n) throw new Error();
 * if (parseKallsyms("0000000000000000 T _text\n").text !== undefined) throw new Error();
 * ```
 */
export function parseKallsyms(text: string): KernelSymbols {
  const find = (name: string): bigint | undefined => {
    const m = new RegExp(`^([0-9a-fA-F]{1,16}) \\S ${name}$`, "m").exec(text);
    if (!m) return undefined;
    const value = BigInt(`0x${m[1]}`);
    return value === 0n ? undefined : value;
  };
  return {
    text: find("_text"),
    stext: find("_stext"),
    end: find("_end"),
    crashNotes: find("crash_notes"),
    perCpuOffset: find("__per_cpu_offset"),
  };
}

/**
 * How many bytes of /proc/kcore hold its ELF header and program headers, or
 * undefined when `bytes` does not even hold the ELF header.
 *
 * @example
 * ```ts
 * import { kcoreHeaderLength } from "./sources.ts";
 * const b = new Uint8Array(64);
 * const v = new DataView(b.buffer);
 * v.setBigUint64(0x20, 64n, true);
 * v.setUint16(0x38, 3, true);
 * if (kcoreHeaderLength(b) !== 64 + 3 * 56) throw new Error();
 * ```
 */
export function kcoreHeaderLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < ELF64_EHDR.size) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = view.getBigUint64(ELF64_EHDR.phoff, true);
  const phnum = view.getUint16(ELF64_EHDR.phnum, true);
  return Number(phoff) + phnum * ELF64_PHDR.size;
}

/**
 * The PT_LOADs of /proc/kcore's program headers (ELF64, little-endian).
 * Throws a {@link KexecError} when `bytes` is not such a header or is cut
 * before the last program header.
 *
 * @example
 * ```ts
 * import { parseKcoreLoads } from "./sources.ts";
 * const b = new Uint8Array(64 + 56);
 * const v = new DataView(b.buffer);
 * b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
 * v.setUint16(0x10, 4, true);
 * v.setBigUint64(0x20, 64n, true);
 * v.setUint16(0x36, 56, true);
 * v.setUint16(0x38, 1, true);
 * v.setUint32(64, 1, true);
 * v.setBigUint64(64 + 0x10, 0xffff888000100000n, true);
 * v.setBigUint64(64 + 0x18, 0x100000n, true);
 * v.setBigUint64(64 + 0x28, 0x3ff00000n, true);
 * const [ram] = parseKcoreLoads(b);
 * if (ram.vaddr !== 0xffff888000100000n || ram.paddr !== 0x100000n) throw new Error();
 * ```
 */
export function parseKcoreLoads(bytes: Uint8Array, path: string = PATHS.kcore): KcoreLoad[] {
  const bad = (what: string) =>
    new KexecError(`${path}: ${what}`, {
      hint: "the crash dump header is built without it; run with -d to see what was used",
    });
  if (bytes.length < ELF64_EHDR.size || ELF_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw bad("not an ELF file");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (
    view.getUint8(ELF64_EHDR.class) !== ELF.CLASS64 ||
    view.getUint8(ELF64_EHDR.data) !== ELF.DATA2LSB
  ) {
    throw bad("not a little-endian ELF64 file");
  }
  if (view.getUint16(ELF64_EHDR.phentsize, true) !== ELF64_PHDR.size) {
    throw bad(`program header size ${view.getUint16(ELF64_EHDR.phentsize, true)}, not 56`);
  }
  const phoff = Number(view.getBigUint64(ELF64_EHDR.phoff, true));
  const phnum = view.getUint16(ELF64_EHDR.phnum, true);
  if (phoff + phnum * ELF64_PHDR.size > bytes.length) {
    throw bad(`program headers end at ${phoff + phnum * ELF64_PHDR.size}, after the bytes read`);
  }
  const loads: KcoreLoad[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * ELF64_PHDR.size;
    if (view.getUint32(at + ELF64_PHDR.type, true) !== ELF.PT_LOAD) continue;
    const paddr = view.getBigUint64(at + ELF64_PHDR.paddr, true);
    loads.push({
      vaddr: view.getBigUint64(at + ELF64_PHDR.vaddr, true),
      paddr: paddr === KCORE_NO_PADDR ? undefined : paddr,
      memsz: view.getBigUint64(at + ELF64_PHDR.memsz, true),
      offset: view.getBigUint64(at + ELF64_PHDR.offset, true),
    });
  }
  return loads;
}

/**
 * Reads every source of a crash load. Throws a {@link KexecError} only when
 * /proc/iomem is unreadable (the crash region cannot be found without it) or
 * a present file is malformed.
 *
 * @example
 * ```ts
 * import { readCrashSources } from "./sources.ts";
 * import type { System } from "../sys/system.ts";
 * const files: Record<string, string> = {
 *   "/proc/iomem": "00100000-3fffffff : System RAM\n  35000000-3cffffff : Crash kernel\n",
 *   "/sys/devices/system/cpu/possible": "0\n",
 *   "/sys/devices/system/cpu/cpu0/crash_notes": "3fc1f458\n",
 * };
 * const sys = { readText: (p: string) => files[p], readBytes: () => undefined } as unknown as System;
 * const s = readCrashSources(sys);
 * if (s.cpuNotes[0].address !== 0x3fc1f458 || s.cpuNotes[0].size !== 1024) throw new Error();
 * if (s.vmcoreinfo !== undefined || s.notes.length === 0) throw new Error();
 * ```
 */
export function readCrashSources(sys: System): CrashSources {
  const notes: string[] = [];
  const iomem = readIomem(sys);
  if (!iomem) {
    throw new KexecError(`cannot read ${PATHS.procIomem}: the crash region cannot be found`, {
      hint: "mount /proc and run as root, or load with kexec_file_load (-s -p)",
    });
  }
  const symbols = readKernelSymbols(sys, notes);
  const kcore = readKcore(sys, notes);
  const kcoreLoads = kcore.loads;
  return {
    iomem,
    cpuNotes: readCpuNotes(sys, notes, symbols, kcoreLoads),
    vmcoreinfo: readVmcoreinfo(sys, notes),
    symbols,
    kcoreLoads,
    kcoreVmcoreinfo: kcore.vmcoreinfo,
    notes,
  };
}

function readCpuNotes(
  sys: System,
  notes: string[],
  symbols: KernelSymbols | undefined,
  kcoreLoads: KcoreLoad[] | undefined,
): CpuCrashNote[] {
  const possible = sys.readText(PATHS.cpuPossible);
  let cpus: number[];
  if (possible !== undefined) {
    cpus = parseCpuList(possible);
  } else {
    cpus = (sys.listDir(CPU_SYSFS_DIR) ?? [])
      .map((n) => /^cpu(\d+)$/.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    notes.push(
      `${PATHS.cpuPossible} is unreadable; using the ${cpus.length} cpuN directories instead`,
    );
  }
  const found: CpuCrashNote[] = [];
  const missing: number[] = [];
  for (const cpu of cpus) {
    const dir = `${CPU_SYSFS_DIR}/cpu${cpu}`;
    const address = sys.readText(`${dir}/crash_notes`);
    if (address === undefined) {
      missing.push(cpu);
      continue;
    }
    found.push({
      cpu,
      address: parseCrashNotesAddress(address, `${dir}/crash_notes`),
      size: parseCrashNotesSize(
        sys.readText(`${dir}/crash_notes_size`),
        `${dir}/crash_notes_size`,
      ),
    });
  }
  if (missing.length > 0) {
    const derived = readPerCpuNotes(sys, missing, found, symbols, kcoreLoads);
    notes.push(derived.note);
    found.push(...derived.notes);
    found.sort((a, b) => a.cpu - b.cpu);
    const left = missing.filter((cpu) => !derived.notes.some((n) => n.cpu === cpu));
    if (left.length > 0) {
      notes.push(
        `no crash_notes for CPU ${left.join(", ")}: no register notes for them in the dump`,
      );
    }
  }
  if (found.length === 0) {
    notes.push("no CPU crash notes at all: the dump will have no CPU registers");
  }
  return found;
}

// The crash notes of possible CPUs without a sysfs directory (percpu_notes.ts).
function readPerCpuNotes(
  sys: System,
  missing: readonly number[],
  known: readonly CpuCrashNote[],
  symbols: KernelSymbols | undefined,
  loads: KcoreLoad[] | undefined,
): PerCpuNotes {
  if (symbols?.crashNotes === undefined || symbols.perCpuOffset === undefined || !loads) {
    return {
      notes: [],
      note: `no crash_notes and __per_cpu_offset in ${PATHS.kallsyms} or no ${PATHS.kcore} ` +
        "to find the notes of CPUs without a sysfs directory",
    };
  }
  const cpus = Math.max(...missing, ...known.map((k) => k.cpu)) + 1;
  const pointer = readKernelMemory(sys, loads, symbols.crashNotes, 8);
  const offsets = readKernelMemory(sys, loads, symbols.perCpuOffset, 8 * cpus);
  if (typeof pointer === "string" || typeof offsets === "string") {
    const why = typeof pointer === "string"
      ? `crash_notes: ${pointer}`
      : `__per_cpu_offset: ${offsets}`;
    return { notes: [], note: `cannot read ${why}` };
  }
  const view = new DataView(offsets.buffer, offsets.byteOffset, offsets.byteLength);
  return derivePerCpuNotes({
    missing,
    known,
    crashNotes: new DataView(pointer.buffer, pointer.byteOffset, 8).getBigUint64(0, true),
    perCpuOffsets: Array.from({ length: cpus }, (_, i) => view.getBigUint64(8 * i, true)),
    loads,
    size: known[0]?.size ?? DEFAULT_CRASH_NOTES_SIZE,
  });
}

// `length` bytes of kernel memory at `vaddr`, read from /proc/kcore through
// the PT_LOAD that maps it; or why not.
function readKernelMemory(
  sys: System,
  loads: readonly KcoreLoad[],
  vaddr: bigint,
  length: number,
): Uint8Array | string {
  const where = `0x${vaddr.toString(16)}`;
  const load = loads.find((l) =>
    l.offset !== undefined && vaddr >= l.vaddr && vaddr + BigInt(length) <= l.vaddr + l.memsz
  );
  if (!load) return `no ${PATHS.kcore} PT_LOAD covers ${where}`;
  // Kernel addresses may lie at offsets beyond 2^53 (kc_vaddr_to_offset can
  // mask the address with the virtual-address mask, near 2^56): a bigint.
  const at = load.offset! + (vaddr - load.vaddr);
  const bytes = sys.readBytes(PATHS.kcore, length, at);
  return bytes?.length === length
    ? bytes
    : `${PATHS.kcore} gave ${bytes?.length ?? "no"} bytes at offset 0x${
      at.toString(16)
    } (${where})`;
}

function readVmcoreinfo(sys: System, notes: string[]): NoteBuffer | undefined {
  const text = sys.readText(PATHS.vmcoreinfo);
  if (text === undefined) {
    notes.push(
      `${PATHS.vmcoreinfo} is missing: no VMCOREINFO note (dump tools will lack symbols)`,
    );
    return undefined;
  }
  return parseVmcoreinfo(text);
}

function readKernelSymbols(sys: System, notes: string[]): KernelSymbols | undefined {
  const text = sys.readText(PATHS.kallsyms);
  if (text === undefined) {
    notes.push(`${PATHS.kallsyms} is unreadable`);
    return undefined;
  }
  const symbols = parseKallsyms(text);
  if (symbols.text === undefined || symbols.end === undefined) {
    notes.push(
      `${PATHS.kallsyms} does not show _text and _end (hidden by kptr_restrict, or a kernel ` +
        "without CONFIG_KALLSYMS_ALL, such as Debian's arm64 one)",
    );
    return undefined;
  }
  return symbols;
}

function readKcore(
  sys: System,
  notes: string[],
): { loads?: KcoreLoad[]; vmcoreinfo?: Map<string, string> } {
  let bytes = sys.readBytes(PATHS.kcore, KCORE_HEADER_READ);
  if (bytes === undefined || bytes.length === 0) {
    notes.push(`${PATHS.kcore} is unreadable (needs CAP_SYS_RAWIO and CONFIG_PROC_KCORE)`);
    return {};
  }
  const needed = kcoreHeaderLength(bytes);
  if (needed !== undefined && needed > bytes.length && needed <= KCORE_HEADER_MAX) {
    bytes = sys.readBytes(PATHS.kcore, needed) ?? bytes;
  }
  let loads: KcoreLoad[];
  try {
    loads = parseKcoreLoads(bytes);
  } catch (e) {
    notes.push((e as Error).message);
    return {};
  }
  return { loads, vmcoreinfo: readKcoreVmcoreinfo(sys, bytes, notes) };
}

// The note segment follows the program headers, within the first 64 KiB on
// the kernels seen; read further (bounded) when it does not.
function readKcoreVmcoreinfo(
  sys: System,
  header: Uint8Array,
  notes: string[],
): Map<string, string> | undefined {
  for (const segment of kcoreNoteSegments(header)) {
    const end = segment.offset + segment.size;
    if (end > KCORE_HEADER_MAX) continue;
    const bytes = end <= header.length ? header : sys.readBytes(PATHS.kcore, end);
    if (bytes === undefined || bytes.length < end) continue;
    const text = findVmcoreinfoNote(bytes.subarray(segment.offset, end));
    if (text !== undefined) return parseVmcoreinfoText(text);
  }
  notes.push(`${PATHS.kcore} has no VMCOREINFO note (kernels before 4.19 have none)`);
  return undefined;
}
