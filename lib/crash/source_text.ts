/**
 * The pure parsers of the sysfs and procfs text files a crash load reads
 * (Documentation/ABI/testing/sysfs-devices-system-cpu and
 * sysfs-kernel-vmcoreinfo, Documentation/filesystems/proc.rst): the possible
 * CPU list, cpuN/crash_notes and crash_notes_size, /sys/kernel/vmcoreinfo and
 * /proc/kallsyms. Kept apart from lib/crash/sources.ts, which reads the files,
 * so that each text format is tested and fuzzed as plain text.
 *
 * @module
 */

import { PATHS } from "../abi.ts";
import { KexecError } from "../errors.ts";
import type { NoteBuffer } from "./elfcorehdr.ts";

/**
 * Size kexec-tools assumes when cpuN/crash_notes_size is missing
 * (kexec/crashdump.c get_crash_notes_per_cpu: MAX_NOTE_BYTES).
 */
export const DEFAULT_CRASH_NOTES_SIZE = 1024;
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
 * import { parseCpuList } from "./source_text.ts";
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
 * import { parseCrashNotesAddress } from "./source_text.ts";
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
 * import { parseCrashNotesSize } from "./source_text.ts";
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
 * import { parseVmcoreinfo } from "./source_text.ts";
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
 * import { parseKallsyms } from "./source_text.ts";
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
