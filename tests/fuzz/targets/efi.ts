/**
 * The EFI handover inputs (lib/arch/x86_64/efi_source.ts, efi.ts,
 * screen_info.ts): runtime-map entries, the sysfs numbers, systab's SMBIOS
 * line and the running boot_params' efi_info and screen_info, as one text
 * whose lines say which is which.
 *
 * @module
 */

import { EFI_MEMORY_DESC, planEfiHandover, writeEfiInfo } from "../../../lib/arch/x86_64/efi.ts";
import {
  parseEfiHex,
  parseRuntimeMapEntry,
  smbiosFromEfiSystab,
} from "../../../lib/arch/x86_64/efi_source.ts";
import { planScreenInfo } from "../../../lib/arch/x86_64/screen_info.ts";
import { parseIomem } from "../../../lib/memory/iomem.ts";
import { mutateText } from "../mutate_text.ts";
import { check, defineTarget } from "../target.ts";

// Lines: "map T P V N A" (one runtime-map entry's five files), "fw_vendor X",
// "runtime X", "config_table X", "systab TEXT", "boot OFFSET HEX" (bytes of
// boot_params), "iomem LINE" (a /proc/iomem line).
const OVMF_GUEST = [
  "map 0xb 0xffc00000 0xfffffffeffc00000 0x400 0x8000000000000001",
  "map 0x5 0x7f5ec000 0xfffffffeff1ec000 0x100 0x800000000000000f",
  "map 0x3 0x0 0xfffffffefbc00000 0x1 0x800000000000000f",
  "fw_vendor 0x7f52aa18",
  "runtime 0x7f5ebb98",
  "config_table 0x7f5ebc98",
  "systab SMBIOS=0x7f520000",
  "boot 0x0 00000000000000000000000000000070",
  "boot 0x10 0000000520032000000000c000803e00",
  "boot 0x1c0 454c363418b05e7f3000000001000000",
  "boot 0x1d0 4010777fd01700000000000000000000",
  "iomem c0000000-c03e7fff : efifb",
].join("\n");
const SEEDS = [
  OVMF_GUEST,
  OVMF_GUEST.replace("454c3634", "454c3332"), // EL32
  OVMF_GUEST.replace("boot 0x1d0 4010777fd0170000", "boot 0x1d0 4010777f00000000"), // BIOS
  OVMF_GUEST.replaceAll(/0xfffffffe[0-9a-f]+/g, "0x0"), // efi=noruntime
];
const TOKENS = ["map ", "boot ", "0x", "ffffffff", "00", "70", "23", "454c3634", "\n", " : efifb"];

/** Parses the fuzz text and plans the handover and screen_info from it. */
export const efiHandoverTarget = defineTarget<string>({
  name: "efi_handover",
  entry: "lib/arch/x86_64/efi_source.ts parseRuntimeMapEntry/parseEfiHex/smbiosFromEfiSystab, " +
    "efi.ts planEfiHandover/writeEfiInfo, screen_info.ts planScreenInfo",
  seeds: () => SEEDS,
  mutate: (rng, seed, seeds) => mutateText(rng, seed, TOKENS, seeds),
  run(text) {
    const running = new Uint8Array(4096);
    const entries = [];
    const values = new Map<string, string>();
    const iomem: string[] = [];
    for (const line of text.split("\n")) {
      const [key, ...rest] = line.split(" ");
      if (key === "map") {
        const entry = parseRuntimeMapEntry(rest.slice(0, 5));
        if (entry) entries.push(entry);
      } else if (key === "boot") {
        const offset = Number(rest[0]);
        const hex = rest[1] ?? "";
        for (let i = 0; i + 1 < hex.length && offset + i / 2 < running.length; i += 2) {
          const byte = parseInt(hex.slice(i, i + 2), 16);
          if (Number.isInteger(offset) && offset >= 0 && !Number.isNaN(byte)) {
            running[offset + i / 2] = byte;
          }
        }
      } else if (key === "iomem") {
        iomem.push(rest.join(" "));
      } else values.set(key, rest.join(" "));
    }
    const plan = planEfiHandover({
      running,
      xloadflags: 0x1f,
      firmware: {
        runtimeMap: entries,
        fwVendor: parseEfiHex(values.get("fw_vendor")),
        runtime: parseEfiHex(values.get("runtime")),
        configTable: parseEfiHex(values.get("config_table")),
        smbios: smbiosFromEfiSystab(values.get("systab")),
      },
    });
    if (!("reason" in plan)) {
      check(plan.memmap.length === entries.length * EFI_MEMORY_DESC.length, "memmap size");
      check(plan.setupData.length === 96, "SETUP_EFI size");
      const page = new Uint8Array(4096);
      writeEfiInfo(page, plan, 0x99d000);
      check(page[0x1c8] === EFI_MEMORY_DESC.length, "efi_memdesc_size");
    }
    // A malformed iomem line is a KexecError, as it would be from the real file.
    const screen = planScreenInfo(running, iomem.length ? parseIomem(iomem.join("\n")) : undefined);
    check(screen.bytes === undefined || screen.bytes.length === 64, "screen_info size");
  },
});
