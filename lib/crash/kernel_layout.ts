/**
 * Where the running kernel maps things: the base of the direct (linear) map
 * (`PAGE_OFFSET`, randomised on x86_64 by CONFIG_RANDOMIZE_MEMORY) and the
 * kernel image (moved by KASLR). Both go into the elfcorehdr's PT_LOAD virtual
 * addresses; dump tools that derive `PAGE_OFFSET` or `phys_base` from them
 * need them right. Each architecture gives its own defaults
 * ({@link KernelLayoutDefaults}).
 *
 * @module
 */

import { findIomem, type IomemNode } from "../memory/iomem.ts";
import type { KernelTextMapping } from "./elfcorehdr.ts";
import type { KcoreLoad, KernelSymbols } from "./sources.ts";
import { hex } from "../format.ts";

/** What an architecture knows of its kernel's virtual layout. */
export interface KernelLayoutDefaults {
  /** `PAGE_OFFSET` to assume when /proc/kcore says nothing, and why it may be wrong. */
  readonly pageOffset: bigint;
  readonly pageOffsetCaveat: string;
  /** Lowest virtual address of the area the kernel image is mapped in. */
  readonly kernelTextStart: bigint;
}

/** Direct-map regions start on a 1 GiB (PUD) boundary, also when randomised. */
export const DIRECT_MAP_ALIGN = 1n << 30n;
// Kernel-half addresses have the top bit set (4- and 5-level paging alike).
const KERNEL_HALF = 1n << 63n;

/** A derived value and how it was found. */
export interface Derived<T> {
  readonly value: T;
  /** One line for the plan's notes. */
  readonly note: string;
}

/**
 * `PAGE_OFFSET` from /proc/kcore: its lowest kernel-half PT_LOAD is the direct
 * map of the lowest RAM (vmalloc, vmemmap and the kernel text lie above it).
 * With a physical address (the kernel gives one for RAM) the offset is exact;
 * otherwise the kexec-tools rule applies: round down to 1 GiB. Without kcore:
 * the architecture's default, said in the note.
 *
 * @example
 * ```ts
 * import { pageOffsetFromKcore } from "./kernel_layout.ts";
 * const defaults = {
 *   pageOffset: 0xffff888000000000n, pageOffsetCaveat: "(a guess)",
 *   kernelTextStart: 0xffffffff80000000n,
 * };
 * const d = pageOffsetFromKcore([
 *   { vaddr: 0xffffffff9a000000n, paddr: 0x1000000n, memsz: 0x3400000n },
 *   { vaddr: 0xffff9e4a40001000n, paddr: 0x1000n, memsz: 0x9e000n },
 * ], defaults);
 * if (d.value !== 0xffff9e4a40000000n) throw new Error(d.note);
 * if (pageOffsetFromKcore(undefined, defaults).value !== 0xffff888000000000n) throw new Error();
 * ```
 */
export function pageOffsetFromKcore(
  loads: readonly KcoreLoad[] | undefined,
  defaults: KernelLayoutDefaults,
): Derived<bigint> {
  const kernelHalf = (loads ?? []).filter((l) => l.vaddr >= KERNEL_HALF);
  if (kernelHalf.length === 0) {
    return {
      value: defaults.pageOffset,
      note: `PAGE_OFFSET ${hex(defaults.pageOffset)}: the default, because /proc/kcore gave ` +
        `no program headers ${defaults.pageOffsetCaveat}`,
    };
  }
  const lowest = kernelHalf.reduce((a, b) => (b.vaddr < a.vaddr ? b : a));
  // A p_paddr that would put PAGE_OFFSET below the kernel half is corrupt: round instead.
  if (lowest.paddr !== undefined && lowest.vaddr - lowest.paddr >= KERNEL_HALF) {
    const value = lowest.vaddr - lowest.paddr;
    return {
      value,
      note: `PAGE_OFFSET ${hex(value)}: p_vaddr − p_paddr of the lowest /proc/kcore ` +
        `PT_LOAD (${hex(lowest.vaddr)} ↔ ${hex(lowest.paddr)})`,
    };
  }
  const value = lowest.vaddr / DIRECT_MAP_ALIGN * DIRECT_MAP_ALIGN;
  return {
    value,
    note: `PAGE_OFFSET ${hex(value)}: lowest /proc/kcore PT_LOAD ${hex(lowest.vaddr)} ` +
      "rounded down to 1 GiB (kexec-tools' rule)",
  };
}

/** What {@link kernelTextMapping} looks at. */
export interface KernelTextSources {
  readonly symbols?: KernelSymbols;
  readonly kcoreLoads?: readonly KcoreLoad[];
  readonly iomem: readonly IomemNode[];
}

/**
 * The kernel text PT_LOAD: virtual `_text` and `_end − _text` from
 * /proc/kallsyms with the physical `_text` from the iomem "Kernel code" start;
 * else the kernel-text PT_LOAD of /proc/kcore (the one holding `_stext` when
 * known, else the lowest one in the kernel-text area), physical address from
 * kcore or "Kernel code". Undefined, with the reason, when neither works: the
 * same memory is still dumped through the RAM PT_LOADs, and dump tools find
 * the KASLR offset in VMCOREINFO (`KERNELOFFSET=`).
 *
 * @example
 * ```ts
 * import { kernelTextMapping } from "./kernel_layout.ts";
 * import { parseIomem } from "../memory/iomem.ts";
 * const iomem = parseIomem("00100000-7ffdffff : System RAM\n  1e000000-1ee02a06 : Kernel code\n");
 * const t = kernelTextMapping({
 *   symbols: { text: 0xffffffff9a000000n, end: 0xffffffff9d400000n },
 *   iomem,
 * }, 0xffffffff80000000n);
 * if (t.value?.paddr !== 0x1e000000 || t.value.size !== 0x3400000) throw new Error(t.note);
 * ```
 */
export function kernelTextMapping(
  sources: KernelTextSources,
  kernelTextStart: bigint,
): Derived<KernelTextMapping | undefined> {
  const code = findIomem(sources.iomem, "Kernel code")[0];
  const { symbols } = sources;
  if (symbols?.text !== undefined && symbols.end !== undefined && symbols.end > symbols.text) {
    if (code) {
      const size = Number(symbols.end - symbols.text);
      return {
        value: { vaddr: symbols.text, paddr: code.start, size },
        note: `kernel text: _text ${hex(symbols.text)} (from /proc/kallsyms) at physical ` +
          `${hex(code.start)} (iomem "Kernel code"), ${hex(size)} bytes to _end`,
      };
    }
  }
  const inTextArea = (sources.kcoreLoads ?? []).filter((l) =>
    l.vaddr >= kernelTextStart && l.memsz > 0n
  );
  const anchor = symbols?.stext ?? symbols?.text;
  const text = anchor !== undefined
    ? inTextArea.find((l) => l.vaddr <= anchor && anchor < l.vaddr + l.memsz)
    : inTextArea.reduce<KcoreLoad | undefined>(
      (a, b) => (!a || b.vaddr < a.vaddr ? b : a),
      undefined,
    );
  const paddr = text?.paddr !== undefined ? Number(text.paddr) : code?.start;
  if (text && paddr !== undefined) {
    return {
      value: { vaddr: text.vaddr, paddr, size: Number(text.memsz) },
      note: `kernel text: ${hex(text.vaddr)} from the /proc/kcore text PT_LOAD at physical ` +
        `${hex(paddr)}${text.paddr === undefined ? ' (iomem "Kernel code")' : ""}, ` +
        `${hex(text.memsz)} bytes (/proc/kallsyms gave no _text/_end)`,
    };
  }
  return {
    value: undefined,
    note: 'kernel text PT_LOAD left out: neither /proc/kallsyms (with iomem "Kernel code") ' +
      "nor /proc/kcore shows where the kernel is; its memory is still in the RAM PT_LOADs " +
      "and VMCOREINFO carries KERNELOFFSET",
  };
}
