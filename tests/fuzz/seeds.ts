/**
 * Seeds shared by several targets: real bzImage headers, real ELF headers,
 * real memory maps and text files (see seeds/make_seeds.ts for where each
 * committed seed came from).
 *
 * @module
 */

import { parseFirmwareMemmap } from "../../lib/memory/memmap.ts";
import type { FirmwareMemmapEntry } from "../../lib/memory/memmap.ts";
import { iomemMemoryMap, parseIomem } from "../../lib/memory/iomem.ts";
import type { MemoryRange } from "../../lib/memory/types.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";

/**
 * Bytes of a committed seed under tests/fuzz/seeds.
 *
 * @example
 * ```ts
 * import { seedBytes } from "./seeds.ts";
 * if (seedBytes("bzimage-debian-head.bin").length !== 65536) throw new Error();
 * ```
 */
export function seedBytes(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`./seeds/${name}`, import.meta.url));
}

/**
 * Text of a committed seed under tests/fuzz/seeds.
 *
 * @example
 * ```ts
 * import { seedText } from "./seeds.ts";
 * if (!seedText("iomem-host.txt").includes("System RAM")) throw new Error();
 * ```
 */
export function seedText(name: string): string {
  return Deno.readTextFileSync(new URL(`./seeds/${name}`, import.meta.url));
}

/**
 * Text of a file under tests/fixtures.
 *
 * @example
 * ```ts
 * import { fixtureText } from "./seeds.ts";
 * if (!fixtureText("iomem-qemu-seabios-1g.txt").includes("Crash kernel")) throw new Error();
 * ```
 */
export function fixtureText(name: string): string {
  return Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url));
}

/**
 * The /proc/iomem samples: QEMU fixtures and this machine's.
 *
 * @example
 * ```ts
 * import { iomemTexts } from "./seeds.ts";
 * if (iomemTexts().length < 3) throw new Error();
 * ```
 */
export function iomemTexts(): string[] {
  return [
    fixtureText("iomem-qemu-seabios-1g.txt"),
    fixtureText("iomem-unprivileged.txt"),
    seedText("iomem-host.txt"),
  ];
}

/**
 * The /sys/firmware/memmap dumps ("N start end type…" lines) as entry lists.
 *
 * @example
 * ```ts
 * import { memmapEntryLists } from "./seeds.ts";
 * if (!memmapEntryLists()[0][0].type.includes("System RAM")) throw new Error();
 * ```
 */
export function memmapEntryLists(): FirmwareMemmapEntry[][] {
  const texts = [
    fixtureText("memmap-qemu-seabios-1g.txt"),
    fixtureText("memmap-uefi-6g.txt"),
    seedText("memmap-host.txt"),
  ];
  return texts.map((text) =>
    text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).map((line) => {
      const [, start, end, ...type] = line.split(" ");
      return { start: `${start}\n`, end: `${end}\n`, type: `${type.join(" ")}\n` };
    })
  );
}

/**
 * Parsed real memory maps, for planners.
 *
 * @example
 * ```ts
 * import { memoryMaps } from "./seeds.ts";
 * if (!memoryMaps().every((m) => m.some((r) => r.kind === "ram"))) throw new Error();
 * ```
 */
export function memoryMaps(): MemoryRange[][] {
  const fromIomem = iomemTexts().filter((t) => !t.includes("00000000-00000000")).map((t) =>
    iomemMemoryMap(parseIomem(t))
  );
  return [...fromIomem, ...memmapEntryLists().map(parseFirmwareMemmap)];
}

// Setup header fields the fitted seeds rewrite (boot.rst offsets).
const SETUP_SECTS = 0x1f1;
const SYSSIZE = 0x1f4;
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;
const SECTOR = 512;

/**
 * A real kernel's first `length` bytes with syssize and payload_length made
 * to fit the shortened protected-mode part, so the header parses and the
 * planner gets to run on real header values.
 *
 * @example
 * ```ts
 * import { fittedKernel, seedBytes } from "./seeds.ts";
 * import { parseSetupHeader } from "../../lib/arch/x86_64/setup_header.ts";
 * const k = fittedKernel(seedBytes("bzimage-debian-head.bin"), 0x6000);
 * if (parseSetupHeader(k, "k").pmSize !== 0x1000) throw new Error();
 * ```
 */
export function fittedKernel(head: Uint8Array, length: number): Uint8Array {
  const bytes = head.slice(0, length);
  const v = new DataView(bytes.buffer);
  const pmOffset = ((bytes[SETUP_SECTS] || 4) + 1) * SECTOR;
  const pmSize = bytes.length - pmOffset;
  v.setUint32(SYSSIZE, Math.ceil(pmSize / 16), true);
  v.setUint32(PAYLOAD_LENGTH, Math.max(0, pmSize - v.getUint32(PAYLOAD_OFFSET, true)), true);
  return bytes;
}

/**
 * bzImage seeds: the real Debian head as committed (truncated: its payload
 * runs past 64 KiB), fitted versions of it, and synthetic kernels with
 * boundary header values.
 *
 * @example
 * ```ts
 * import { bzImageSeeds } from "./seeds.ts";
 * if (bzImageSeeds().some((k) => k[0x1fe] !== 0x55)) throw new Error("boot flag");
 * ```
 */
export function bzImageSeeds(): Uint8Array[] {
  const head = seedBytes("bzimage-debian-head.bin");
  const pmOffset = (head[SETUP_SECTS] + 1) * SECTOR;
  return [
    head,
    fittedKernel(head, head.length),
    fittedKernel(head, pmOffset + 0x1000),
    syntheticKernel(),
    syntheticKernel({ setupSects: 0, pmSize: 0x800 }),
    syntheticKernel({ version: 0x020c, kernelInfoOffset: 0, pmSize: 0x1000 }),
    syntheticKernel({ relocatable: 0, xloadflags: 0x1, pmSize: 0x1000 }),
    syntheticKernel({ prefAddress: 0x100000000, initSize: 0x1000, pmSize: 0x1000 }),
  ];
}

/**
 * ELF seeds: deno's headers and dynamic section, and a whole small library.
 *
 * @example
 * ```ts
 * import { elfSeeds } from "./seeds.ts";
 * if (elfSeeds().some((e) => e[1] !== 0x45)) throw new Error("ELF magic");
 * ```
 */
export function elfSeeds(): Uint8Array[] {
  return [seedBytes("elf-deno-dynamic.bin"), seedBytes("elf-libdl.so.2")];
}
