/**
 * The ACPI RSDP address from /sys/firmware/efi/systab
 * (Documentation/ABI/testing/sysfs-firmware-efi, drivers/firmware/efi/efi.c
 * systab_show): where boot_params `acpi_rsdp_addr` (zero-page.rst) comes from
 * on UEFI machines when the running kernel's boot_params does not carry it.
 *
 * @module
 */

/**
 * Returns the `ACPI20=` address (ACPI 2.0+ RSDP), else `ACPI=`, else undefined.
 *
 * @example
 * ```ts
 * import { rsdpFromEfiSystab } from "./efi_systab.ts";
 * const text = "ACPI=0x7fb7e000\nACPI20=0x7fb7e014\nSMBIOS=0x7f9a3000\n";
 * if (rsdpFromEfiSystab(text) !== 0x7fb7e014) throw new Error();
 * if (rsdpFromEfiSystab("SMBIOS=0x1\n") !== undefined) throw new Error();
 * ```
 */
export function rsdpFromEfiSystab(text: string): number | undefined {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(ACPI20|ACPI)=(0x[0-9a-fA-F]{1,13})\s*$/.exec(line.trim());
    if (m) values.set(m[1], Number(m[2]));
  }
  return values.get("ACPI20") ?? values.get("ACPI");
}
