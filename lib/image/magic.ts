/**
 * Names for content no format accepted, so a refusal can say what a file is
 * (an ELF file for another machine, a compression this tool does not undo, a
 * PE file without a kernel). Detection by content, never by file name.
 *
 * @module
 */

// Leading bytes of the compressors the kernel build and distributions use
// (scripts/Makefile.lib; xz and lz4 frame formats; lzop).
const COMPRESSION: readonly [string, readonly number[]][] = [
  ["gzip", [0x1f, 0x8b]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["lz4", [0x04, 0x22, 0x4d, 0x18]],
  ["lz4 (legacy)", [0x02, 0x21, 0x4c, 0x18]],
  ["lzo", [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]],
  ["lzma", [0x5d, 0x00, 0x00]],
];

// ELF e_machine values (the ELF psABI supplements), for "an ELF file for …".
const ELF_MACHINES: Readonly<Record<number, string>> = {
  3: "i386",
  40: "arm",
  62: "x86_64",
  183: "aarch64",
  243: "riscv64",
  258: "loongarch64",
};

// IMAGE_FILE_MACHINE_* values (PE Format, "Machine Types"), for messages about EFI files.
const PE_MACHINES: Readonly<Record<number, string>> = {
  0x014c: "i386",
  0x8664: "x86_64",
  0xaa64: "arm64",
  0x5064: "riscv64",
  0x6264: "loongarch64",
};

/**
 * The name of a PE `Machine` value, for messages.
 *
 * @example
 * ```ts
 * import { peMachineName } from "./magic.ts";
 * if (peMachineName(0xaa64) !== "arm64" || peMachineName(0x1234) !== "machine 0x1234") throw new Error();
 * ```
 */
export function peMachineName(machine: number): string {
  return PE_MACHINES[machine] ?? `machine 0x${machine.toString(16)}`;
}

/**
 * The compression `bytes` start with, if any.
 *
 * @example
 * ```ts
 * import { compressionOf } from "./magic.ts";
 * if (compressionOf(new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1])) !== "xz") throw new Error();
 * ```
 */
export function compressionOf(bytes: Uint8Array): string | undefined {
  for (const [name, magic] of COMPRESSION) {
    if (bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b)) return name;
  }
  return undefined;
}

/**
 * A few words on what unrecognised content looks like, or undefined when it
 * looks like nothing known.
 *
 * @example
 * ```ts
 * import { describeContent } from "./magic.ts";
 * const elf = new Uint8Array(64);
 * elf.set([0x7f, 0x45, 0x4c, 0x46]);
 * elf[0x12] = 183;
 * if (describeContent(elf) !== "an ELF file for aarch64") throw new Error(describeContent(elf));
 * ```
 */
export function describeContent(bytes: Uint8Array): string | undefined {
  const compression = compressionOf(bytes);
  if (compression) return `${compression}-compressed data`;
  if (
    bytes.length >= 0x14 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c &&
    bytes[3] === 0x46
  ) {
    const machine = bytes[0x12] | bytes[0x13] << 8;
    return `an ELF file for ${ELF_MACHINES[machine] ?? `machine ${machine}`}`;
  }
  if (bytes.length >= 2 && bytes[0] === 0x4d && bytes[1] === 0x5a) {
    return "a PE/EFI executable without a kernel this tool recognises";
  }
  return undefined;
}
