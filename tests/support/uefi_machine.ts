/**
 * A UEFI machine for unit tests: the sysfs and procfs files of this project's
 * OVMF guest (QEMU 7.2 q35, OVMF 2022.11, Debian 6.1 kernel booted through its
 * EFI stub with crashkernel=256M; see tests/fixtures/machines/
 * iomem-uefi-qemu-ovmf-q35.txt), as captured, on top of tests/support/machine.ts.
 *
 * @module
 */

import { PATHS } from "../../lib/abi.ts";
import { machineFixture } from "../fixtures/fixtures.ts";
import { crashFiles } from "./crash_machine.ts";
import type { FakeFile } from "./fake_system.ts";
import { machine } from "./machine.ts";

/** The guest's /sys/firmware/efi/runtime-map, in index order. */
export const RUNTIME_MAP = [
  {
    type: 0xb,
    phys: 0xffc00000n,
    virt: 0xfffffffeffc00000n,
    pages: 0x400n,
    attr: 0x8000000000000001n,
  },
  {
    type: 0x6,
    phys: 0x7feec000n,
    virt: 0xfffffffeffaec000n,
    pages: 0x84n,
    attr: 0x800000000000000fn,
  },
  {
    type: 0x5,
    phys: 0x7f5ec000n,
    virt: 0xfffffffeff1ec000n,
    pages: 0x100n,
    attr: 0x800000000000000fn,
  },
  {
    type: 0x6,
    phys: 0x7f4ec000n,
    virt: 0xfffffffeff0ec000n,
    pages: 0x100n,
    attr: 0x800000000000000fn,
  },
  {
    type: 0x6,
    phys: 0x7ea8a000n,
    virt: 0xfffffffefe68a000n,
    pages: 0x102n,
    attr: 0x800000000000000fn,
  },
  {
    type: 0x4,
    phys: 0x7cdf4000n,
    virt: 0xfffffffefc9f4000n,
    pages: 0x9n,
    attr: 0x800000000000000fn,
  },
  {
    type: 0x4,
    phys: 0x7cdf1000n,
    virt: 0xfffffffefc9f1000n,
    pages: 0x2n,
    attr: 0x800000000000000fn,
  },
  { type: 0x3, phys: 0x0n, virt: 0xfffffffefbc00000n, pages: 0x1n, attr: 0x800000000000000fn },
];

/** /sys/firmware/efi/{fw_vendor,runtime,config_table} and systab of the guest. */
export const EFI_VALUES = {
  fwVendor: 0x7f52aa18n,
  runtime: 0x7f5ebb98n,
  configTable: 0x7f5ebc98n,
  systab: "ACPI20=0x7f77d014\nACPI=0x7f77d000\nSMBIOS=0x7f520000\n",
  smbios: 0x7f520000n,
};

/** `efi_info` of the guest's boot_params (EFI stub): EL64, systab, 48-byte descriptors. */
export const RUNNING_EFI_INFO = { systab: 0x7f5eb018, memdescSize: 0x30, memmapSize: 0x17d0 };

/** The non-zero 16-byte rows of the first 512 bytes of /sys/kernel/boot_params/data. */
const BOOT_PARAMS_ROWS: [number, string][] = [
  [0x000, "00000000000000000000000000000070"], // screen_info: orig_video_isVGA 0x70 (EFI)
  [0x010, "0000000520032000000000c000803e00"], // 1280x800x32 at 0xc0000000
  [0x020, "00000000001408100808080008180000"], // linelength 5120, colour layout
  [0x030, "00000100000001000000000000000000"],
  [0x1c0, "454c363418b05e7f3000000001000000"], // efi_info: "EL64", systab, desc size, version
  [0x1d0, "4010777fd01700000000000000000000"], // efi_memmap, efi_memmap_size
  [0x1e0, "00800000000000001000000002000000"], // e820_entries 16, secure_boot 2
  [0x1f0, "00000100000000000000ffff00000000"],
];

/** The guest's /sys/kernel/boot_params/data (4096 bytes). */
export function ovmfBootParams(): Uint8Array {
  const bytes = new Uint8Array(4096);
  for (const [offset, hex] of BOOT_PARAMS_ROWS) {
    for (let i = 0; i < 16; i++) bytes[offset + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

/** The EFI and memory files of the guest. */
export function uefiFiles(): Record<string, FakeFile> {
  const rt = "/sys/firmware/efi/runtime-map";
  const files: Record<string, FakeFile> = {
    [PATHS.bootParams]: ovmfBootParams(),
    [PATHS.efiSystab]: EFI_VALUES.systab,
    "/sys/firmware/efi/fw_vendor": `0x${EFI_VALUES.fwVendor.toString(16)}\n`,
    "/sys/firmware/efi/runtime": `0x${EFI_VALUES.runtime.toString(16)}\n`,
    "/sys/firmware/efi/config_table": `0x${EFI_VALUES.configTable.toString(16)}\n`,
    // Listed in the order readdir gives, not numerically.
    [rt]: { dir: ["0", "1", "2", "3", "4", "5", "6", "7"].reverse() },
    [PATHS.procIomem]: machineFixture("iomem-uefi-qemu-ovmf-q35.txt"),
  };
  RUNTIME_MAP.forEach((d, i) => {
    const hex = (v: number | bigint) => `0x${v.toString(16)}\n`;
    files[`${rt}/${i}/type`] = hex(d.type);
    files[`${rt}/${i}/phys_addr`] = hex(d.phys);
    files[`${rt}/${i}/virt_addr`] = hex(d.virt);
    files[`${rt}/${i}/num_pages`] = hex(d.pages);
    files[`${rt}/${i}/attribute`] = hex(d.attr);
  });
  const memmap = machineFixture("memmap-uefi-qemu-ovmf-q35.txt").split("\n").filter((l) => l);
  files[PATHS.firmwareMemmap] = { dir: memmap.map((l) => l.split(" ")[0]) };
  for (const line of memmap) {
    const [n, start, end, ...type] = line.split(" ");
    files[`${PATHS.firmwareMemmap}/${n}/start`] = `${start}\n`;
    files[`${PATHS.firmwareMemmap}/${n}/end`] = `${end}\n`;
    files[`${PATHS.firmwareMemmap}/${n}/type`] = `${type.join(" ")}\n`;
  }
  return files;
}

/** The OVMF guest ready for -l and -p; `extra` overrides or adds files (undefined removes one). */
export function uefiMachine(extra: Record<string, FakeFile | undefined> = {}) {
  // Its iomem and memmap replace the SeaBIOS guest's of machine.ts and crash_machine.ts.
  return machine({ ...crashFiles(), ...uefiFiles(), ...extra });
}
