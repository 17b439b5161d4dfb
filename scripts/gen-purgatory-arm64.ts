/**
 * Regenerates `lib/arch/arm64/purgatory_blob.ts` from `purgatory.S` with the
 * aarch64 cross binutils Debian ships (package binutils-aarch64-linux-gnu):
 * `aarch64-linux-gnu-as` assembles, `objcopy -O binary` extracts the page and
 * `nm` gives every offset. The machinery is scripts/gen-purgatory.ts.
 *
 * ```sh
 * deno run -A scripts/gen-purgatory-arm64.ts          # write the blob module
 * deno run -A scripts/gen-purgatory-arm64.ts --check  # exit 1 if it is out of date
 * ```
 *
 * @module
 */

import { type PurgatoryTarget, runGenerator } from "./gen-purgatory.ts";

const ROOT = new URL("../", import.meta.url);
const CROSS = "aarch64-linux-gnu-";

/**
 * The arm64 page. `-EL` pins little-endian output (the page's slots and
 * constants are little-endian; so are Debian's arm64 kernels).
 *
 * @example
 * ```ts
 * import { assemblePurgatory } from "./gen-purgatory.ts";
 * import { ARM64_PURGATORY } from "./gen-purgatory-arm64.ts";
 * const asm = await assemblePurgatory(ARM64_PURGATORY);
 * if (asm.bytes.length !== 4096) throw new Error("not one page");
 * if (asm.symbols.get("purgatory_dtb")?.kind !== "t") throw new Error("no DTB slot");
 * ```
 */
export const ARM64_PURGATORY: PurgatoryTarget = {
  arch: "arm64",
  source: new URL("lib/arch/arm64/purgatory.S", ROOT),
  blob: new URL("lib/arch/arm64/purgatory_blob.ts", ROOT),
  script: "scripts/gen-purgatory-arm64.ts",
  as: [`${CROSS}as`, "-EL"],
  objcopy: `${CROSS}objcopy`,
  nm: `${CROSS}nm`,
  objdump: `${CROSS}objdump`,
  toolsText: `${CROSS}as -EL, objcopy -O binary and nm`,
  installHint: "The aarch64 cross binutils (aarch64-linux-gnu-as, -objcopy, -nm, -objdump) " +
    "are needed: install them, e.g. `apt-get install binutils-aarch64-linux-gnu`",
  symbolDocs: {
    purgatory_start:
      "Entry point (kexec_load `entry` = page address + this): I-cache on, then main.",
    purgatory_main:
      "First unprivileged instruction: stack, verify, then x0 = DTB, x1..x3 = 0 and the jump.",
    purgatory_halt: "The wfi loop a mismatch ends in (x0 = bad index, x1/x2 = its mem/len).",
    purgatory_verify:
      "`long verify(void)` (AAPCS64): -1 if every region matches, else the first bad index.",
    purgatory_sha256:
      "`void sha256(const void *data, size_t len, uint8_t out[32])` (AAPCS64; data 8-aligned).",
    purgatory_code_end: "End of the instructions; read-only constants follow.",
    purgatory_kernel_entry: "Slot u64: where to branch (kernel base + text_offset).",
    purgatory_dtb: "Slot u64: physical address of the DTB (goes to x0).",
    purgatory_region_count: "Slot u64: number of regions to verify (0 = no check).",
    purgatory_regions: "Region table: `{u64 mem; u64 len; u8 sha256[32]}` entries.",
    purgatory_regions_end: "End of the region table.",
    purgatory_stack_bottom: "Lowest byte of the private stack.",
    purgatory_stack_top: "Initial sp (end of the page).",
    purgatory_page_size: "Size of the page.",
    purgatory_max_regions: "Entries in the region table.",
    purgatory_region_mem: "Region entry field: u64 physical start (8-byte aligned).",
    purgatory_region_len: "Region entry field: u64 length in bytes.",
    purgatory_region_sha256: "Region entry field: 32-byte SHA-256 digest.",
    purgatory_region_size: "Size of one region entry.",
    purgatory_verify_ok: "verify() result: every region matched.",
    purgatory_verify_bad_count: "verify() result: the count slot exceeds the table.",
  },
};

if (import.meta.main) Deno.exit(await runGenerator(ARM64_PURGATORY, Deno.args));
