/**
 * Reads what an EFI handover needs from sysfs (Documentation/ABI/testing/
 * sysfs-firmware-efi and sysfs-firmware-efi-runtime-map): the runtime map,
 * fw_vendor, runtime, config_table and the SMBIOS entry point of systab. Each
 * file holds one `0x…` number; the parsers are pure, {@link readEfiFirmware}
 * is the only function that touches the machine, through the System.
 *
 * @module
 */

import type { System } from "../../sys/system.ts";
import type { EfiFirmware, EfiMemoryDescriptor } from "./efi.ts";

/** sysfs files of an EFI boot. */
export const EFI_PATHS = {
  runtimeMap: "/sys/firmware/efi/runtime-map",
  fwVendor: "/sys/firmware/efi/fw_vendor",
  runtime: "/sys/firmware/efi/runtime",
  configTable: "/sys/firmware/efi/config_table",
  systab: "/sys/firmware/efi/systab",
} as const;

/** The fields of one runtime-map entry, each in its own file. */
const DESCRIPTOR_FILES = ["type", "phys_addr", "virt_addr", "num_pages", "attribute"] as const;

/**
 * Parses one sysfs number printed as `0x%llx`; undefined when it is not one.
 *
 * @example
 * ```ts
 * import { parseEfiHex } from "./efi_source.ts";
 * if (parseEfiHex("0x8000000000000001\n") !== 0x8000000000000001n) throw new Error();
 * if (parseEfiHex("garbage") !== undefined || parseEfiHex(undefined) !== undefined) throw new Error();
 * ```
 */
export function parseEfiHex(text: string | undefined): bigint | undefined {
  const m = text === undefined ? null : /^0x([0-9a-fA-F]{1,16})$/.exec(text.trim());
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/**
 * The SMBIOS 2 entry point (`SMBIOS=`) of /sys/firmware/efi/systab, which
 * `struct efi_setup_data` carries; SMBIOS3-only firmware has none.
 *
 * @example
 * ```ts
 * import { smbiosFromEfiSystab } from "./efi_source.ts";
 * if (smbiosFromEfiSystab("ACPI20=0x7f77d014\nSMBIOS=0x7f520000\n") !== 0x7f520000n) throw new Error();
 * if (smbiosFromEfiSystab("SMBIOS3=0x7f510000\n") !== undefined) throw new Error();
 * ```
 */
export function smbiosFromEfiSystab(text: string | undefined): bigint | undefined {
  const m = text === undefined ? null : /^SMBIOS=(0x[0-9a-fA-F]{1,16})\s*$/m.exec(text);
  return m ? BigInt(m[1]) : undefined;
}

/**
 * Turns the text of one runtime-map entry's five files into a descriptor;
 * undefined when any is missing or malformed.
 *
 * @example
 * ```ts
 * import { parseRuntimeMapEntry } from "./efi_source.ts";
 * const d = parseRuntimeMapEntry(["0xb", "0xffc00000", "0xfffffffeffc00000", "0x400", "0x8000000000000001"]);
 * if (d?.type !== 11 || d.numPages !== 0x400n) throw new Error();
 * if (parseRuntimeMapEntry(["0xb", undefined, "0x0", "0x1", "0x1"]) !== undefined) throw new Error();
 * ```
 */
export function parseRuntimeMapEntry(
  texts: readonly (string | undefined)[],
): EfiMemoryDescriptor | undefined {
  const [type, physAddr, virtAddr, numPages, attribute] = texts.map(parseEfiHex);
  if (
    type === undefined || type > 0xffffffffn || physAddr === undefined ||
    virtAddr === undefined || numPages === undefined || attribute === undefined
  ) {
    return undefined;
  }
  return { type: Number(type), physAddr, virtAddr, numPages, attribute };
}

/**
 * Reads the EFI sysfs files; fields are undefined where a file is missing or
 * malformed (a runtime map with one bad entry counts as missing, since half a
 * map would leave regions unmapped in the next kernel).
 *
 * @example
 * ```ts
 * import { readEfiFirmware } from "./efi_source.ts";
 * import { RecordingSystem } from "../../sys/recording.ts";
 * const d = "/sys/firmware/efi/runtime-map/0";
 * const sys = new RecordingSystem({
 *   "/sys/firmware/efi/runtime-map": { dir: ["0"] },
 *   [`${d}/type`]: "0x5\n", [`${d}/phys_addr`]: "0x7f5ec000\n",
 *   [`${d}/virt_addr`]: "0xfffffffeff1ec000\n", [`${d}/num_pages`]: "0x100\n",
 *   [`${d}/attribute`]: "0x800000000000000f\n",
 *   "/sys/firmware/efi/fw_vendor": "0x7f52aa18\n",
 * });
 * const fw = readEfiFirmware(sys);
 * if (fw.runtimeMap?.length !== 1 || fw.fwVendor !== 0x7f52aa18n || fw.configTable !== undefined) {
 *   throw new Error();
 * }
 * ```
 */
export function readEfiFirmware(sys: System): EfiFirmware {
  return {
    runtimeMap: readRuntimeMap(sys),
    fwVendor: parseEfiHex(sys.readText(EFI_PATHS.fwVendor)),
    runtime: parseEfiHex(sys.readText(EFI_PATHS.runtime)),
    configTable: parseEfiHex(sys.readText(EFI_PATHS.configTable)),
    smbios: smbiosFromEfiSystab(sys.readText(EFI_PATHS.systab)),
  };
}

function readRuntimeMap(sys: System): EfiMemoryDescriptor[] | undefined {
  const names = sys.listDir(EFI_PATHS.runtimeMap);
  if (names === undefined) return undefined;
  const indices = names.filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
  const map: EfiMemoryDescriptor[] = [];
  for (const n of indices) {
    const dir = `${EFI_PATHS.runtimeMap}/${n}`;
    const entry = parseRuntimeMapEntry(DESCRIPTOR_FILES.map((f) => sys.readText(`${dir}/${f}`)));
    if (!entry) return undefined;
    map.push(entry);
  }
  return map;
}
