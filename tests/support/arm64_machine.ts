/**
 * arm64 machines for unit tests, made of what a real guest showed: Debian's
 * 6.1.0-57-arm64 kernel on `qemu-system-aarch64 -M virt -cpu max -m 2048`
 * with `crashkernel=256M`, booted directly by QEMU (its device tree, a
 * memory node) and through UEFI (AAVMF: ACPI, a device tree without memory
 * nodes). Files in tests/fixtures/arm64/, captured from the guests' /proc
 * and /sys (kcore cut after its note segment):
 *
 * - `iomem-virt-*.txt`: /proc/iomem;
 * - `fdt-virt-direct.dtb.gz`, `fdt-virt-uefi.dtb`: /sys/firmware/fdt;
 * - `kcore-virt-*.bin`: the ELF header, program headers and notes of /proc/kcore.
 *
 * The other files (crash notes, VMCOREINFO address, kallsyms lines) are the
 * values those guests showed, written out in {@link VIRT}.
 *
 * @module
 */

import { gunzipSync, gzipSync, zstdCompressSync } from "node:zlib";
import { PATHS } from "../../lib/abi.ts";
import type { FakeFile } from "./fake_system.ts";
import { FakeSystem } from "./fake_system.ts";
import type { FakeKernel } from "./fake_system.ts";

const DIR = new URL("../fixtures/arm64/", import.meta.url);

/** How the guest was booted. */
export type VirtBoot = "direct" | "uefi";

/** Facts of the two guests that are not in the fixture files. */
export const VIRT = {
  direct: {
    crashRegion: { start: 0xa9a00000, end: 0xb9a00000 },
    crashNotes: [{ cpu: 0, address: 0xbfba7800 }, { cpu: 1, address: 0xbfbc6800 }],
    vmcoreinfo: "0x0000000042748000 1024\n",
    kallsyms: "ffffb484d1c10000 T _stext\nffffb484d3260000 T __init_begin\n",
    /** From /proc/kcore: the linear map's physical 0, the kernel image. */
    linearOffset: 0xfffeffffc0000000n,
    text: { vaddr: 0xffffb484d1c00000n, paddr: 0x40200000, size: 0x2010000 },
  },
  uefi: {
    crashRegion: { start: 0x9fe00000, end: 0xafe00000 },
    crashNotes: [{ cpu: 0, address: 0xbf7d3800 }, { cpu: 1, address: 0xbf7f2800 }],
    vmcoreinfo: "0x000000004031c000 1024\n",
    kallsyms: "ffffdb3715dc0000 T _stext\nffffdb3717410000 T __init_begin\n",
    linearOffset: 0xffff000000000000n,
    text: { vaddr: 0xffffdb3715db0000n, paddr: 0xb61b0000, size: 0x2010000 },
  },
} as const;

/** Bytes of a fixture file (gunzipped when it ends in .gz). */
export function arm64Fixture(name: string): Uint8Array {
  const bytes = Deno.readFileSync(new URL(name, DIR));
  return name.endsWith(".gz") ? new Uint8Array(gunzipSync(bytes)) : bytes;
}

/** /sys/firmware/fdt of the guest. */
export function virtFdt(boot: VirtBoot): Uint8Array {
  return arm64Fixture(boot === "direct" ? "fdt-virt-direct.dtb.gz" : "fdt-virt-uefi.dtb");
}

/** /proc/iomem of the guest. */
export function virtIomem(boot: VirtBoot): string {
  return new TextDecoder().decode(arm64Fixture(`iomem-virt-${boot}.txt`));
}

/** Path of the test Image in the fake machine. */
export const IMAGE = "/boot/Image";
/** Path of the test initrd. */
export const INITRD = "/boot/initrd.img";
/** The initrd's bytes. */
export const INITRD_BYTES = new Uint8Array(300000).map((_, i) => (i * 7) & 0xff);

/** Header fields of an arm64 Image; the defaults are Debian's 6.1.0-57-arm64. */
export interface ImageFields {
  textOffset?: bigint;
  imageSize?: bigint;
  flags?: bigint;
  /** Bytes of the file (default 64 KiB; the real one is 32 MB). */
  length?: number;
  efiStub?: boolean;
}

/** A synthetic arm64 Image: the header fields, "MZ" for the stub, then a pattern. */
export function arm64Image(fields: ImageFields = {}): Uint8Array {
  const bytes = new Uint8Array(fields.length ?? 0x10000).map((_, i) => (i * 31) & 0xff);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, fields.efiStub === false ? 0x14000010 : 0xfa405a4d, true); // "MZ@\xfa" / b stext
  v.setUint32(4, 0x1459a356, true);
  v.setBigUint64(0x08, fields.textOffset ?? 0n, true);
  v.setBigUint64(0x10, fields.imageSize ?? 0x2010000n, true);
  v.setBigUint64(0x18, fields.flags ?? 0xan, true);
  for (let at = 0x20; at < 0x38; at++) bytes[at] = 0;
  v.setUint32(0x38, 0x644d5241, true);
  v.setUint32(0x3c, 0x40, true);
  return bytes;
}

/** Every file an arm64 load reads, from the guest booted `boot`. */
export function virtFiles(boot: VirtBoot): Record<string, FakeFile> {
  const facts = VIRT[boot];
  const cpu = "/sys/devices/system/cpu";
  const files: Record<string, FakeFile> = {
    [PATHS.kexecLoaded]: "0\n",
    [PATHS.kexecCrashLoaded]: "0\n",
    [PATHS.kexecCrashSize]: "268435456\n",
    [PATHS.lockdown]: "[none] integrity confidentiality\n",
    [PATHS.procSelfStatus]: "Name:\tkexec\nCapEff:\t000001ffffffffff\n",
    [PATHS.procIomem]: virtIomem(boot),
    [PATHS.cpuPossible]: "0-1\n",
    [PATHS.vmcoreinfo]: facts.vmcoreinfo,
    [PATHS.kallsyms]: facts.kallsyms,
    [PATHS.kcore]: arm64Fixture(`kcore-virt-${boot}.bin`),
    "/sys/firmware/fdt": virtFdt(boot),
    [IMAGE]: arm64Image(),
    [INITRD]: INITRD_BYTES,
  };
  for (const n of facts.crashNotes) {
    files[`${cpu}/cpu${n.cpu}/crash_notes`] = `${n.address.toString(16)}\n`;
    files[`${cpu}/cpu${n.cpu}/crash_notes_size`] = "424\n";
  }
  return files;
}

/** A fake arm64 machine; `extra` overrides or adds files (undefined removes one). */
export function virtMachine(
  boot: VirtBoot = "direct",
  extra: Record<string, FakeFile | undefined> = {},
  kernel: FakeKernel = {},
): FakeSystem {
  const files = virtFiles(boot);
  for (const [path, value] of Object.entries(extra)) {
    if (value === undefined) delete files[path];
    else files[path] = value;
  }
  return new FakeSystem(files, kernel, "aarch64");
}

/**
 * An EFI zboot `vmlinuz.efi` around `image` (drivers/firmware/efi/libstub/
 * zboot-header.S: "MZ", "zimg" at 4, payload offset and size at 8 and 12,
 * the compression name at 0x18; non-gzip payloads get the 4-byte size
 * trailer Makefile.zboot appends).
 */
export function arm64Zboot(image: Uint8Array, codec: "gzip" | "zstd"): Uint8Array {
  const payload = new Uint8Array(codec === "gzip" ? gzipSync(image) : zstdCompressSync(image));
  const file = new Uint8Array(0x200 + payload.length + 4);
  const v = new DataView(file.buffer);
  const enc = new TextEncoder();
  file.set(enc.encode("MZ"));
  file.set(enc.encode("zimg"), 4);
  v.setUint32(8, 0x200, true);
  v.setUint32(12, payload.length, true);
  file.set(enc.encode(codec === "gzip" ? "gzip" : "zstd22"), 0x18);
  v.setUint32(0x3c, 0x40, true);
  file.set(payload, 0x200);
  v.setUint32(0x200 + payload.length, image.length, true);
  return file;
}
