/**
 * Where the running arm64 kernel maps physical memory, for the virtual
 * addresses of the ELF core header's PT_LOADs (Documentation/arch/arm64/memory.rst):
 *
 * - the linear map: `__phys_to_virt(pa) = (pa - PHYS_OFFSET) | PAGE_OFFSET`
 *   (arch/arm64/include/asm/memory.h), where PAGE_OFFSET follows from VA_BITS
 *   (since 5.4 `-(1 << VA_BITS)`), and PHYS_OFFSET (`memstart_addr`) is the
 *   start of RAM rounded down to ARM64_MEMSTART_ALIGN, moved further down by
 *   KASLR when the linear region is much larger than the physical address
 *   range (arch/arm64/mm/init.c arm64_memblock_init) — so it is not
 *   knowable from the memory map alone;
 * - the kernel image: `_text` at KIMAGE_VADDR plus the KASLR offset,
 *   `pa = va - kimage_voffset`.
 *
 * The truth is what the kernel itself says: /proc/kcore's PT_LOADs carry
 * both the virtual and the physical address of every RAM range (KCORE_RAM,
 * `p_paddr = __pa(vaddr)`) and of the kernel image (KCORE_TEXT, `[_text,
 * _end)`, `p_paddr = __pa_symbol(_text)`), fs/proc/kcore.c. Its VMCOREINFO
 * note (arch/arm64/kernel/vmcore_info.c) gives NUMBER(VA_BITS),
 * NUMBER(PHYS_OFFSET) and NUMBER(kimage_voffset), used to cross-check, and
 * when the PT_LOADs do not settle it. Without /proc/kcore the layout is a
 * guess, and its `notes` (in the load plan, printed by `--dry-run`) say so.
 *
 * @module
 */

import { findIomem, type IomemNode } from "../../memory/iomem.ts";
import type { KernelTextMapping } from "../../crash/elfcorehdr.ts";
import { vmcoreinfoNumber } from "../../crash/kcore_notes.ts";
import type { KcoreLoad, KernelSymbols } from "../../crash/sources.ts";
import { KexecError } from "../../errors.ts";
import { hex } from "../../format.ts";

/** What the layout is derived from (a subset of lib/crash/sources.ts CrashSources). */
export interface Arm64LayoutSources {
  readonly iomem: readonly IomemNode[];
  readonly kcoreLoads?: readonly KcoreLoad[];
  readonly kcoreVmcoreinfo?: ReadonlyMap<string, string>;
  readonly symbols?: KernelSymbols;
}

/** The running kernel's mappings, as the ELF core header needs them. */
export interface Arm64KernelLayout {
  /**
   * Virtual address of physical 0 in the linear map, `PAGE_OFFSET −
   * PHYS_OFFSET`: a RAM range at `pa` is mapped at `linearOffset + pa`.
   */
  readonly linearOffset: bigint;
  /** The kernel image PT_LOAD, or undefined when nothing shows where it is. */
  readonly kernelText?: KernelTextMapping;
  /** How each was found, for -d and --dry-run. */
  readonly notes: string[];
}

const U64 = 1n << 64n;
const KERNEL_HALF = 1n << 63n;
/** VA_BITS of Debian's (and most distributions') arm64 kernels. */
const DEFAULT_VA_BITS = 48n;
/** ARM64_MEMSTART_ALIGN with 4 KiB pages (PUD_SHIFT 30), arch/arm64/include/asm/kernel-pgtable.h. */
const DEFAULT_MEMSTART_ALIGN = 1n << 30n;

const u64 = (n: bigint) => BigInt.asUintN(64, n);
/** Linux ≥ 5.4: the linear map starts at `-(1 << VA_BITS)`. */
const pageOffsetOf = (vaBits: bigint) => U64 - (1n << vaBits);

interface Candidate {
  readonly offset: bigint;
  readonly load: KcoreLoad & { readonly paddr: bigint };
}

/**
 * The running kernel's linear map offset and kernel image mapping.
 *
 * @example
 * ```ts
 * import { arm64KernelLayout } from "./kernel_layout.ts";
 * import { parseIomem } from "../../memory/iomem.ts";
 * const layout = arm64KernelLayout({
 *   iomem: parseIomem("40000000-bfffffff : System RAM\n  40210000-4159ffff : Kernel code\n"),
 *   kcoreLoads: [
 *     { vaddr: 0xffff800080000000n, paddr: 0x40200000n, memsz: 0x2a90000n }, // KCORE_TEXT
 *     { vaddr: 0xffff000000000000n, paddr: 0x40000000n, memsz: 0x80000000n }, // KCORE_RAM
 *     { vaddr: 0xffff800000000000n, memsz: 0x7dffb0000000n }, // vmalloc, no paddr
 *   ],
 * });
 * if (layout.linearOffset !== 0xfffeffffc0000000n) throw new Error(layout.notes.join("\n"));
 * if (layout.kernelText?.paddr !== 0x40200000 || layout.kernelText.size !== 0x2a90000) {
 *   throw new Error(layout.notes.join("\n"));
 * }
 * ```
 */
export function arm64KernelLayout(sources: Arm64LayoutSources): Arm64KernelLayout {
  const notes: string[] = [];
  const info = sources.kcoreVmcoreinfo;
  const vaBits = info ? vmcoreinfoNumber(info, "NUMBER(VA_BITS)") : undefined;
  const physOffset = info ? vmcoreinfoNumber(info, "NUMBER(PHYS_OFFSET)") : undefined;
  const kimageVoffset = info ? vmcoreinfoNumber(info, "NUMBER(kimage_voffset)") : undefined;
  const candidates: Candidate[] = (sources.kcoreLoads ?? [])
    .filter((l): l is Candidate["load"] =>
      l.paddr !== undefined && l.vaddr >= KERNEL_HALF && l.memsz > 0n
    )
    .map((load) => ({ load, offset: u64(load.vaddr - load.paddr) }));
  let text = findTextLoad(candidates, sources.symbols, kimageVoffset);
  const ram = systemRam(sources.iomem);
  const plausible = (offset: bigint | undefined, from: string) => {
    if (offset === undefined || mapsIntoKernelHalf(offset, ram)) return offset;
    notes.push(
      `linear map: ${from} gives physical 0 at ${hex(offset)}, which does not map this ` +
        "machine's RAM into the kernel half; not used",
    );
    return undefined;
  };
  const linearOffset =
    plausible(linearFromKcore(candidates.filter((c) => c !== text), notes), "/proc/kcore") ??
      plausible(linearFromVmcoreinfo(vaBits, physOffset, notes), "VMCOREINFO") ??
      plausible(linearGuess(sources.iomem, notes), "the guess") ??
      unmappable();
  // Without _text or kimage_voffset: the one PT_LOAD mapped differently is the image.
  const others = candidates.filter((c) => c.offset !== linearOffset);
  if (text === undefined && others.length === 1) text = others[0];
  if (vaBits !== undefined && physOffset !== undefined && vaBits > 0n && vaBits < 64n) {
    const expected = u64(pageOffsetOf(vaBits) - physOffset);
    notes.push(
      expected === linearOffset
        ? `linear map: agrees with VMCOREINFO VA_BITS ${vaBits}, PHYS_OFFSET ${hex(physOffset)}`
        : `linear map: VMCOREINFO VA_BITS ${vaBits} and PHYS_OFFSET ${hex(physOffset)} would ` +
          `give ${hex(expected)}; /proc/kcore's own mapping is used`,
    );
  }
  const kernelText = textMapping(text, sources, kimageVoffset, notes);
  return { linearOffset, kernelText, notes };
}

function unmappable(): never {
  throw new KexecError(
    "cannot work out where the running kernel maps RAM (its linear map), so the crash dump " +
      "header cannot be built",
    { hint: "run as root with /proc/kcore readable, or load the crash kernel with -s -p" },
  );
}

function systemRam(iomem: readonly IomemNode[]): { start: bigint; end: bigint }[] {
  return iomem.filter((n) => n.name === "System RAM").map((n) => ({
    start: BigInt(n.start),
    end: BigInt(n.end),
  }));
}

/** Every RAM byte lands in the kernel half, below 2^64, without wrapping. */
function mapsIntoKernelHalf(
  offset: bigint,
  ram: readonly { start: bigint; end: bigint }[],
): boolean {
  return ram.every((r) => offset + r.start >= KERNEL_HALF && offset + r.end <= U64);
}

// KCORE_TEXT: the PT_LOAD holding _text, or the one mapped with kimage_voffset.
function findTextLoad(
  candidates: readonly Candidate[],
  symbols: KernelSymbols | undefined,
  kimageVoffset: bigint | undefined,
): Candidate | undefined {
  const anchor = symbols?.text;
  if (anchor !== undefined) {
    const found = candidates.find((c) =>
      c.load.vaddr <= anchor && anchor < c.load.vaddr + c.load.memsz
    );
    if (found) return found;
  }
  if (kimageVoffset !== undefined) return candidates.find((c) => c.offset === kimageVoffset);
  return undefined;
}

// Every other PT_LOAD with a physical address is KCORE_RAM; they must agree.
// Without a way to tell the image's PT_LOAD apart, the offset that maps the
// most bytes is the linear map's (RAM dwarfs the kernel image).
function linearFromKcore(candidates: readonly Candidate[], notes: string[]): bigint | undefined {
  if (candidates.length === 0) return undefined;
  const bytes = new Map<bigint, bigint>();
  for (const c of candidates) bytes.set(c.offset, (bytes.get(c.offset) ?? 0n) + c.load.memsz);
  const [offset] = [...bytes].reduce((a, b) => (b[1] > a[1] ? b : a));
  const ranges = candidates.filter((c) => c.offset === offset).length;
  notes.push(
    `linear map: physical 0 at ${hex(offset)} (p_vaddr − p_paddr of ${ranges} /proc/kcore RAM ` +
      `PT_LOADs` + (bytes.size > 1 ? `; ${bytes.size - 1} other mappings ignored)` : ")"),
  );
  return offset;
}

function linearFromVmcoreinfo(
  vaBits: bigint | undefined,
  physOffset: bigint | undefined,
  notes: string[],
): bigint | undefined {
  if (vaBits === undefined || physOffset === undefined || vaBits <= 0n || vaBits >= 64n) {
    return undefined;
  }
  const offset = u64(pageOffsetOf(vaBits) - physOffset);
  notes.push(
    `linear map: physical 0 at ${hex(offset)} from VMCOREINFO VA_BITS ${vaBits} and ` +
      `PHYS_OFFSET ${hex(physOffset)} (PAGE_OFFSET as since Linux 5.4; /proc/kcore has no RAM ` +
      "PT_LOADs)",
  );
  return offset;
}

function linearGuess(iomem: readonly IomemNode[], notes: string[]): bigint {
  const ram = iomem.filter((n) => n.name === "System RAM");
  const first = ram.length ? BigInt(Math.min(...ram.map((r) => r.start))) : 0n;
  const physOffset = first / DEFAULT_MEMSTART_ALIGN * DEFAULT_MEMSTART_ALIGN;
  const offset = u64(pageOffsetOf(DEFAULT_VA_BITS) - physOffset);
  notes.push(
    `linear map: physical 0 at ${hex(offset)}, a GUESS (VA_BITS 48, PHYS_OFFSET ` +
      `${hex(physOffset)} = start of RAM rounded down to 1 GiB): /proc/kcore is unreadable; ` +
      "wrong if the kernel randomised its linear map, and dump tools may then misread the dump",
  );
  return offset;
}

function textMapping(
  text: Candidate | undefined,
  sources: Arm64LayoutSources,
  kimageVoffset: bigint | undefined,
  notes: string[],
): KernelTextMapping | undefined {
  const found = textFrom(text, sources, kimageVoffset);
  if (found && found.mapping) {
    const m = found.mapping;
    notes.push(
      `kernel image: ${hex(m.vaddr)} ↔ physical ${hex(m.paddr)}, ${hex(m.size)} bytes ` +
        `(${found.how})`,
    );
    return m;
  }
  notes.push(
    "kernel image PT_LOAD left out: neither /proc/kcore nor /proc/kallsyms shows where the " +
      "kernel is; its memory is still in the RAM PT_LOADs and VMCOREINFO carries " +
      "kimage_voffset",
  );
  return undefined;
}

function textFrom(
  text: Candidate | undefined,
  sources: Arm64LayoutSources,
  kimageVoffset: bigint | undefined,
): { mapping?: KernelTextMapping; how: string } | undefined {
  if (text) {
    return {
      mapping: mapping(text.load.vaddr, text.load.paddr, text.load.memsz),
      how: "the /proc/kcore PT_LOAD of [_text, _end)",
    };
  }
  const s = sources.symbols;
  if (s?.text === undefined || s.end === undefined || s.end <= s.text) return undefined;
  if (kimageVoffset !== undefined) {
    return {
      mapping: mapping(s.text, s.text - kimageVoffset, s.end - s.text),
      how: "/proc/kallsyms _text and _end, physical = virtual − VMCOREINFO kimage_voffset",
    };
  }
  // arch/arm64/kernel/setup.c: "Kernel code" starts at __pa_symbol(_stext).
  const code = findIomem(sources.iomem, "Kernel code")[0];
  if (!code || s.stext === undefined || s.stext < s.text) return undefined;
  return {
    mapping: mapping(s.text, BigInt(code.start) - (s.stext - s.text), s.end - s.text),
    how: '/proc/kallsyms _text and _end at iomem "Kernel code" (= _stext) − (_stext − _text)',
  };
}

function mapping(vaddr: bigint, paddr: bigint, size: bigint): KernelTextMapping | undefined {
  if (paddr < 0n || paddr + size > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  if (vaddr < KERNEL_HALF || vaddr + size > U64) return undefined;
  return { vaddr, paddr: Number(paddr), size: Number(size) };
}
