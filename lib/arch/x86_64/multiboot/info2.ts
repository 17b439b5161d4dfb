/**
 * The Multiboot2 boot information EBX points to (Multiboot2 Specification
 * 2.0, 3.6 "Boot information format"): `u32 total_size; u32 reserved`, then
 * 8-byte aligned tags `{u32 type; u32 size; ...}` up to an end tag, in one
 * buffer placed 8-byte aligned below 4 GiB.
 *
 * Always passed, as GNU GRUB does: the command line (type 1), the boot
 * loader name (2), the modules (3), basic memory information (4) and the
 * memory map (6). On request, when the running machine has them: the EFI
 * system table pointer (11 or 12, from the boot parameters the running kernel
 * received), and for a relocatable image its load base address (21, 3.6.20).
 * What kexec cannot know (BIOS boot device, VBE, framebuffer, APM, SMBIOS,
 * network, ELF sections, the ACPI RSDP copies) is left out, which the
 * specification allows for optional and for unavailable information; what
 * exists only while EFI boot services run (EFI memory map, boot services
 * not terminated, image handles) is refused when the image requires it.
 *
 * @module
 */

import { KexecError } from "../../../errors.ts";
import type { E820Entry } from "../e820.ts";
import type { Mb2Request } from "./header2.ts";
import { encodeStrings, type MultibootModuleInfo } from "./info1.ts";
import type { BasicMemory } from "./memory.ts";

/** Information tag types (3.6.3-3.6.20). */
export const MB2_TAG = {
  END: 0,
  CMDLINE: 1,
  BOOT_LOADER_NAME: 2,
  MODULE: 3,
  BASIC_MEMINFO: 4,
  BOOTDEV: 5,
  MMAP: 6,
  VBE: 7,
  FRAMEBUFFER: 8,
  ELF_SECTIONS: 9,
  APM: 10,
  EFI32: 11,
  EFI64: 12,
  SMBIOS: 13,
  ACPI_OLD: 14,
  ACPI_NEW: 15,
  NETWORK: 16,
  EFI_MMAP: 17,
  EFI_BS: 18,
  EFI32_IH: 19,
  EFI64_IH: 20,
  LOAD_BASE_ADDR: 21,
} as const;

/** Fixed part of the information: u32 total_size, u32 reserved (3.6.1). */
export const MB2_INFO = { totalSize: 0, reserved: 4, size: 8 } as const;
/** Every information tag starts with u32 type, u32 size (3.6.2). */
export const MB2_TAG_HEADER = { type: 0, size: 4, length: 8 } as const;

/** Tag layouts after the 8-byte tag header (3.6.3-3.6.20). */
export const MB2_TAG_FIELDS = {
  module: { modStart: 8, modEnd: 12, string: 16 },
  basicMeminfo: { memLower: 8, memUpper: 12, size: 16 },
  mmap: { entrySize: 8, entryVersion: 12, entries: 16 },
  efi32: { pointer: 8, size: 12 },
  efi64: { pointer: 8, size: 16 },
  loadBaseAddr: { address: 8, size: 12 },
} as const;

/** One memory map entry: u64 base_addr, u64 length, u32 type, u32 reserved (3.6.8). */
export const MB2_MMAP_ENTRY = { baseAddr: 0, length: 8, type: 16, reserved: 20, size: 24 } as const;

const ALIGN = 8;

/** The EFI system table of the running machine, as the boot parameters name it. */
export interface EfiSystemTable {
  /** Physical address. */
  readonly address: number;
  /** Whether the firmware is 64-bit ("EL64") or 32-bit ("EL32"). */
  readonly bits: 32 | 64;
}

/** What goes into the boot information. */
export interface Multiboot2InfoInput {
  /** Physical address the buffer will be loaded at (8-byte aligned, below 4 GiB). */
  readonly base: number;
  readonly cmdline: string;
  readonly bootLoaderName: string;
  readonly memory: BasicMemory;
  readonly memoryMap: readonly E820Entry[];
  readonly modules: readonly MultibootModuleInfo[];
  /** Passed as tag 11 or 12 (the one matching its width) when given. */
  readonly efiSystemTable?: EfiSystemTable;
  /** Passed as tag 21 when given (relocatable images). */
  readonly loadBaseAddr?: number;
}

/** Requests that cannot be met after boot services ended, with their names. */
const BOOT_SERVICES_ONLY: Readonly<Record<number, string>> = {
  17: "the EFI memory map",
  18: "running EFI boot services",
  19: "the EFI i386 image handle",
  20: "the EFI amd64 image handle",
};

/** Highest information tag type the specification defines. */
const LAST_TAG_TYPE = MB2_TAG.LOAD_BASE_ADDR;

/**
 * Checks the image's information requests (its header's tag 1) against what
 * kexec can give. Throws a {@link KexecError} naming the kernel for a
 * required request the specification does not define, or one that needs EFI
 * boot services; returns notes on requests left unanswered.
 *
 * @example
 * ```ts
 * import { checkInformationRequests } from "./info2.ts";
 * const notes = checkInformationRequests([{ type: 14, required: false }], "xen.gz", false);
 * if (!notes[0].includes("14")) throw new Error(notes.join());
 * let refused = false;
 * try { checkInformationRequests([{ type: 18, required: true }], "k", true); } catch { refused = true; }
 * if (!refused) throw new Error("EFI boot services request accepted");
 * ```
 */
export function checkInformationRequests(
  requests: readonly Mb2Request[],
  path: string,
  haveEfiSystemTable: boolean,
): string[] {
  const notes: string[] = [];
  for (const { type, required } of requests) {
    if (type > LAST_TAG_TYPE) {
      if (!required) continue;
      throw new KexecError(
        `kernel ${path} requires Multiboot2 information of type ${type}, which the ` +
          "specification does not define",
        { hint: "this loader knows information types 0-21" },
      );
    }
    const bootServices = BOOT_SERVICES_ONLY[type];
    if (bootServices && required) {
      throw new KexecError(
        `kernel ${path} requires ${bootServices} (Multiboot2 information type ${type}), ` +
          "which exists only while EFI boot services run; kexec starts it after they ended",
        { hint: "boot it from the EFI boot loader instead" },
      );
    }
    if (!provided(type, haveEfiSystemTable)) {
      notes.push(
        `Multiboot2 information type ${type} requested${required ? " (required)" : ""} but ` +
          "not available here: left out, as the specification allows",
      );
    }
  }
  return notes;
}

function provided(type: number, haveEfi: boolean): boolean {
  const always: number[] = [
    MB2_TAG.CMDLINE,
    MB2_TAG.BOOT_LOADER_NAME,
    MB2_TAG.MODULE,
    MB2_TAG.BASIC_MEMINFO,
    MB2_TAG.MMAP,
    MB2_TAG.LOAD_BASE_ADDR,
    MB2_TAG.END,
  ];
  return always.includes(type) || (haveEfi && (type === MB2_TAG.EFI32 || type === MB2_TAG.EFI64));
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** One tag to write: its type, the bytes after its 8-byte header, and how to fill them. */
interface Tag {
  readonly type: number;
  readonly bodyLength: number;
  /** Writes the body; `at` is the tag's first byte. */
  readonly body: (bytes: Uint8Array, view: DataView, at: number) => void;
}

/** A tag ending in a string: `fields` bytes of fixed fields (written by `write`), then it. */
function stringTag(
  type: number,
  encoded: Uint8Array,
  fields = 0,
  write: (view: DataView, at: number) => void = () => {},
): Tag {
  return {
    type,
    bodyLength: fields + encoded.length,
    body: (bytes, view, at) => {
      write(view, at);
      bytes.set(encoded, at + MB2_TAG_HEADER.length + fields);
    },
  };
}

function tags(input: Omit<Multiboot2InfoInput, "base">): Tag[] {
  const [cmdline, name, ...moduleStrings] = encodeStrings([
    input.cmdline,
    input.bootLoaderName,
    ...input.modules.map((m) => m.cmdline),
  ]);
  const list: Tag[] = [
    stringTag(MB2_TAG.CMDLINE, cmdline),
    stringTag(MB2_TAG.BOOT_LOADER_NAME, name),
  ];
  input.modules.forEach((m, i) => {
    list.push(stringTag(MB2_TAG.MODULE, moduleStrings[i], 8, (view, at) => {
      view.setUint32(at + MB2_TAG_FIELDS.module.modStart, m.start, true);
      view.setUint32(at + MB2_TAG_FIELDS.module.modEnd, m.end, true);
    }));
  });
  list.push({
    type: MB2_TAG.BASIC_MEMINFO,
    bodyLength: 8,
    body: (_, view, at) => {
      view.setUint32(at + MB2_TAG_FIELDS.basicMeminfo.memLower, input.memory.lowerKiB, true);
      view.setUint32(at + MB2_TAG_FIELDS.basicMeminfo.memUpper, input.memory.upperKiB, true);
    },
  });
  list.push({
    type: MB2_TAG.MMAP,
    bodyLength: 8 + input.memoryMap.length * MB2_MMAP_ENTRY.size,
    body: (_, view, at) => {
      view.setUint32(at + MB2_TAG_FIELDS.mmap.entrySize, MB2_MMAP_ENTRY.size, true);
      view.setUint32(at + MB2_TAG_FIELDS.mmap.entryVersion, 0, true);
      input.memoryMap.forEach((e, i) => {
        const o = at + MB2_TAG_FIELDS.mmap.entries + i * MB2_MMAP_ENTRY.size;
        view.setBigUint64(o + MB2_MMAP_ENTRY.baseAddr, BigInt(e.addr), true);
        view.setBigUint64(o + MB2_MMAP_ENTRY.length, BigInt(e.size), true);
        view.setUint32(o + MB2_MMAP_ENTRY.type, e.type, true);
      });
    },
  });
  const efi = input.efiSystemTable;
  if (efi) {
    list.push({
      type: efi.bits === 64 ? MB2_TAG.EFI64 : MB2_TAG.EFI32,
      bodyLength: efi.bits === 64 ? 8 : 4,
      body: (_, view, at) => {
        if (efi.bits === 64) {
          view.setBigUint64(at + MB2_TAG_FIELDS.efi64.pointer, BigInt(efi.address), true);
        } else view.setUint32(at + MB2_TAG_FIELDS.efi32.pointer, efi.address, true);
      },
    });
  }
  if (input.loadBaseAddr !== undefined) {
    const address = input.loadBaseAddr;
    list.push({
      type: MB2_TAG.LOAD_BASE_ADDR,
      bodyLength: 4,
      body: (_, view, at) =>
        view.setUint32(at + MB2_TAG_FIELDS.loadBaseAddr.address, address, true),
    });
  }
  list.push({ type: MB2_TAG.END, bodyLength: 0, body: () => {} });
  return list;
}

/**
 * Bytes {@link buildMultiboot2Info} will produce (independent of addresses).
 *
 * @example
 * ```ts
 * import { multiboot2InfoSize } from "./info2.ts";
 * const n = multiboot2InfoSize({
 *   cmdline: "", bootLoaderName: "", memory: { lowerKiB: 0, upperKiB: 0 },
 *   memoryMap: [], modules: [],
 * });
 * // header 8, cmdline 16, name 16, meminfo 16, mmap 16, end 8
 * if (n !== 80) throw new Error(String(n));
 * ```
 */
export function multiboot2InfoSize(input: Omit<Multiboot2InfoInput, "base">): number {
  return tags(input).reduce<number>(
    (n, t) => n + align(MB2_TAG_HEADER.length + t.bodyLength),
    MB2_INFO.size,
  );
}

/**
 * Builds the boot information for loading at `input.base`. Throws a
 * KexecError for a string with a NUL in it, or a base that is not 8-byte
 * aligned below 4 GiB.
 *
 * @example
 * ```ts
 * import { buildMultiboot2Info } from "./info2.ts";
 * const info = buildMultiboot2Info({
 *   base: 0x10000, cmdline: "/boot/xen.gz console=com1", bootLoaderName: "kexec",
 *   memory: { lowerKiB: 639, upperKiB: 1046400 },
 *   memoryMap: [{ addr: 0x100000, size: 0x3ff00000, type: 1 }],
 *   modules: [{ start: 0x200000, end: 0x300000, cmdline: "/boot/vmlinuz root=/dev/sda" }],
 * });
 * const v = new DataView(info.buffer);
 * if (v.getUint32(0, true) !== info.length) throw new Error("total_size");
 * if (v.getUint32(8, true) !== 1) throw new Error("first tag is the command line");
 * ```
 */
export function buildMultiboot2Info(input: Multiboot2InfoInput): Uint8Array {
  const list = tags(input);
  const size = multiboot2InfoSize(input);
  if (
    !Number.isSafeInteger(input.base) || input.base < 0 || input.base % ALIGN !== 0 ||
    input.base + size > 2 ** 32
  ) {
    throw new KexecError(
      `Multiboot2 information at ${input.base} is not 8-byte aligned below 4 GiB`,
      { hint: "this is a bug in the load planner; run with -d and report it" },
    );
  }
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(MB2_INFO.totalSize, size, true);
  let at = MB2_INFO.size;
  for (const tag of list) {
    const tagSize = MB2_TAG_HEADER.length + tag.bodyLength;
    view.setUint32(at + MB2_TAG_HEADER.type, tag.type, true);
    view.setUint32(at + MB2_TAG_HEADER.size, tagSize, true);
    tag.body(bytes, view, at);
    at += align(tagSize);
  }
  return bytes;
}
