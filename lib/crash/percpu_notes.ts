/**
 * Crash note buffers of possible CPUs that have no sysfs directory.
 *
 * The kernel writes one PT_NOTE for every possible CPU (kernel/crash_core.c,
 * crash_prepare_elf64_headers: `for_each_possible_cpu`, address
 * `per_cpu_ptr_to_phys(per_cpu_ptr(crash_notes, cpu))`), so a CPU hot-added
 * after the load still has its registers in the dump. sysfs shows the address
 * only for CPUs with a cpuN directory (drivers/base/cpu.c, crash_notes
 * attribute), and architectures create those for present CPUs only
 * (arch/x86/kernel/topology.c). Firmware that announces hot-pluggable sockets
 * ("smpboot: Allowing 256 CPUs, 192 hotplug CPUs") leaves most possible CPUs
 * without one; kexec-tools then writes no note for them.
 *
 * The address is still computable, as the kernel computes it: the
 * `crash_notes` pointer plus `__per_cpu_offset[cpu]` (include/asm-generic/
 * percpu.h, per_cpu_ptr), both read from /proc/kcore at their /proc/kallsyms
 * addresses, turned into a physical address through the direct map's
 * PT_LOADs. The per-CPU first chunk lives in the direct map on the
 * architectures this tool supports (mm/percpu.c, pcpu_embed_first_chunk);
 * if a note lies elsewhere (vmalloc'ed chunks), no physical address follows
 * and the CPU is left out with a note. The result is trusted only when it
 * reproduces every address sysfs does show.
 *
 * Pure: lib/crash/sources.ts reads the files.
 *
 * @module
 */

import { hex } from "../format.ts";
import type { CpuCrashNote } from "./elfcorehdr.ts";

/** A /proc/kcore PT_LOAD as far as address translation needs it. */
export interface KcoreMapping {
  readonly vaddr: bigint;
  readonly paddr?: bigint;
  readonly memsz: bigint;
}

/** What {@link derivePerCpuNotes} works from. */
export interface PerCpuNotesInput {
  /** Possible CPUs whose crash_notes sysfs file is missing. */
  readonly missing: readonly number[];
  /** The notes sysfs shows, used to check the derivation. */
  readonly known: readonly CpuCrashNote[];
  /** The value of the kernel's `crash_notes` per-CPU pointer. */
  readonly crashNotes: bigint;
  /** `__per_cpu_offset[0 … max possible CPU]`. */
  readonly perCpuOffsets: readonly bigint[];
  /** /proc/kcore PT_LOADs (those with a physical address translate). */
  readonly loads: readonly KcoreMapping[];
  /** Bytes per note buffer (crash_notes_size of a present CPU). */
  readonly size: number;
}

/** The derived notes, or none with the reason. */
export interface PerCpuNotes {
  readonly notes: CpuCrashNote[];
  readonly note: string;
}

/**
 * Physical address of a kernel virtual address through the PT_LOADs that
 * carry one, or undefined.
 *
 * @example
 * ```ts
 * import { kcorePhysical } from "./percpu_notes.ts";
 * const loads = [{ vaddr: 0xffff888000100000n, paddr: 0x100000n, memsz: 0x3ff00000n }];
 * if (kcorePhysical(loads, 0xffff888001234000n) !== 0x1234000) throw new Error();
 * if (kcorePhysical(loads, 0xffffc90000000000n) !== undefined) throw new Error();
 * ```
 */
export function kcorePhysical(loads: readonly KcoreMapping[], vaddr: bigint): number | undefined {
  for (const load of loads) {
    if (load.paddr === undefined) continue;
    if (vaddr >= load.vaddr && vaddr < load.vaddr + load.memsz) {
      const paddr = load.paddr + (vaddr - load.vaddr);
      return paddr <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(paddr) : undefined;
    }
  }
  return undefined;
}

/**
 * The crash notes of the `missing` CPUs, derived as the kernel derives them;
 * none when the derivation does not reproduce the `known` ones.
 *
 * @example
 * ```ts
 * import { derivePerCpuNotes } from "./percpu_notes.ts";
 * const base = 0xffff888000000000n;
 * const r = derivePerCpuNotes({
 *   missing: [2], size: 432,
 *   known: [{ cpu: 0, address: 0x7c83a400, size: 432 }],
 *   crashNotes: 0x1e400n,
 *   perCpuOffsets: [base + 0x7c81c000n, base + 0x7c91c000n, base + 0x7ca1c000n],
 *   loads: [{ vaddr: base, paddr: 0n, memsz: 0x80000000n }],
 * });
 * if (r.notes[0]?.address !== 0x7ca3a400) throw new Error(r.note);
 * ```
 */
export function derivePerCpuNotes(input: PerCpuNotesInput): PerCpuNotes {
  const address = (cpu: number): number | undefined => {
    const offset = input.perCpuOffsets[cpu];
    if (offset === undefined) return undefined;
    return kcorePhysical(input.loads, (input.crashNotes + offset) & 0xffffffffffffffffn);
  };
  if (input.known.length === 0) {
    return { notes: [], note: "no CPU shows crash_notes in sysfs to check the derivation against" };
  }
  for (const k of input.known) {
    const derived = address(k.cpu);
    if (derived !== k.address) {
      return {
        notes: [],
        note: `crash_notes + __per_cpu_offset[${k.cpu}] gives ` +
          `${derived === undefined ? "no physical address" : hex(derived)}, sysfs ` +
          `${hex(k.address)}: not used`,
      };
    }
  }
  const notes: CpuCrashNote[] = [];
  const unmapped: number[] = [];
  for (const cpu of input.missing) {
    const a = address(cpu);
    if (a === undefined) unmapped.push(cpu);
    else notes.push({ cpu, address: a, size: input.size });
  }
  const found = notes.map((n) => n.cpu);
  return {
    notes,
    note:
      (found.length
        ? `crash notes of CPU ${found.join(", ")} (possible, no sysfs directory) from ` +
          "crash_notes + __per_cpu_offset in /proc/kcore, checked against sysfs"
        : "") +
      (unmapped.length
        ? `${found.length ? "; " : ""}no physical address for CPU ${unmapped.join(", ")}`
        : ""),
  };
}
