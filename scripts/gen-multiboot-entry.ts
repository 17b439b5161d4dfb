/**
 * Regenerates `lib/arch/x86_64/multiboot/entry_blob.ts` from
 * `entry.S` (the page that takes the CPU from long mode into the
 * 32-bit protected mode Multiboot kernels start in) with the host's GNU
 * binutils. The machinery is scripts/gen-purgatory.ts.
 *
 * ```sh
 * deno run -A scripts/gen-multiboot-entry.ts          # write the blob module
 * deno run -A scripts/gen-multiboot-entry.ts --check  # exit 1 if it is out of date
 * ```
 *
 * @module
 */

import { type PurgatoryTarget, runGenerator, X86_64_PURGATORY } from "./gen-purgatory.ts";

const ROOT = new URL("../", import.meta.url);

/**
 * The Multiboot entry page.
 *
 * @example
 * ```ts
 * import { assemblePurgatory } from "./gen-purgatory.ts";
 * import { MULTIBOOT_ENTRY } from "./gen-multiboot-entry.ts";
 * const asm = await assemblePurgatory(MULTIBOOT_ENTRY);
 * if (asm.bytes.length !== 4096) throw new Error("not one page");
 * if (asm.symbols.get("mb_entry_start")?.value !== 0n) throw new Error("entry not at 0");
 * ```
 */
export const MULTIBOOT_ENTRY: PurgatoryTarget = {
  ...X86_64_PURGATORY,
  source: new URL("lib/arch/x86_64/multiboot/entry.S", ROOT),
  blob: new URL("lib/arch/x86_64/multiboot/entry_blob.ts", ROOT),
  script: "scripts/gen-multiboot-entry.ts",
  symbolPrefix: "mb_entry_",
  what: "Multiboot entry page",
  docFile: "MULTIBOOT.md",
  symbolDocs: {
    mb_entry_start: "Entry point, 64-bit (the purgatory's `entry64` = page address + this).",
    mb_entry_compat32: "First 32-bit instruction (after the far return into CS 0x08).",
    mb_entry_code_end: "End of the instructions.",
    mb_entry_gdt: "GDT: null, 0x08 32-bit code, 0x10 flat data.",
    mb_entry_gdtr: "GDTR (u16 limit, u64 base); the entry code fills the base.",
    mb_entry_entry: "Slot u32: the kernel's entry point (physical).",
    mb_entry_magic: "Slot u32: EAX at entry (0x2BADB002 or 0x36D76289).",
    mb_entry_info: "Slot u32: EBX at entry (physical address of the boot information).",
    mb_entry_slots_end: "End of the slots.",
    mb_entry_page_end: "End of the page.",
    mb_entry_page_size: "Size of the page.",
  },
};

if (import.meta.main) Deno.exit(await runGenerator(MULTIBOOT_ENTRY, Deno.args));
