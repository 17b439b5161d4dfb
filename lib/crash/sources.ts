/**
 * What a crash load reads from the running kernel (Documentation/ABI/testing/
 * sysfs-devices-system-cpu and sysfs-kernel-vmcoreinfo,
 * Documentation/filesystems/proc.rst): the possible CPUs and their crash note
 * buffers, the VMCOREINFO note, `_text`/`_stext`/`_end` from /proc/kallsyms,
 * the program headers of /proc/kcore and the /proc/iomem tree. Each text
 * format has a pure parser (lib/crash/source_text.ts, and
 * lib/crash/kcore_headers.ts for /proc/kcore); {@link readCrashSources} is the
 * only function that touches the machine, and only through the {@link System}.
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
import type { CpuCrashNote, NoteBuffer } from "./elfcorehdr.ts";
import { derivePerCpuNotes, type PerCpuNotes } from "./percpu_notes.ts";
import { findVmcoreinfoNote, kcoreNoteSegments, parseVmcoreinfoText } from "./kcore_notes.ts";
import { kcoreHeaderLength, type KcoreLoad, parseKcoreLoads } from "./kcore_headers.ts";
import {
  DEFAULT_CRASH_NOTES_SIZE,
  type KernelSymbols,
  parseCpuList,
  parseCrashNotesAddress,
  parseCrashNotesSize,
  parseKallsyms,
  parseVmcoreinfo,
} from "./source_text.ts";

// The parsers live beside this module; importers keep reaching them here.
export { kcoreHeaderLength, type KcoreLoad, parseKcoreLoads } from "./kcore_headers.ts";
export {
  DEFAULT_CRASH_NOTES_SIZE,
  type KernelSymbols,
  parseCpuList,
  parseCrashNotesAddress,
  parseCrashNotesSize,
  parseKallsyms,
  parseVmcoreinfo,
} from "./source_text.ts";

/** sysfs directory of the CPUs (cpuN/crash_notes, cpuN/crash_notes_size). */
export const CPU_SYSFS_DIR = "/sys/devices/system/cpu";
/** Bytes of /proc/kcore read first; kexec-tools reads the same 64 KiB. */
export const KCORE_HEADER_READ = 64 * 1024;
// A corrupt or unexpected kcore must not make us read more than this.
const KCORE_HEADER_MAX = 16 * 1024 * 1024;

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
