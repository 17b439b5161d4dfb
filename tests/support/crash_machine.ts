/**
 * A machine prepared for crash loads, for unit tests: the files of
 * tests/support/machine.ts plus /proc/iomem of a 2 GiB QEMU guest booted with
 * crashkernel=256M, two possible CPUs with crash notes, VMCOREINFO, a KASLR'd
 * /proc/kallsyms and a /proc/kcore header with a randomised direct map.
 *
 * ELF offsets in {@link kcoreHeader} are written out here on purpose, as an
 * independent statement of the layout the library reads.
 *
 * @module
 */

import { PATHS } from "../../lib/abi.ts";
import type { FakeFile, FakeKernel } from "./fake_system.ts";
import { machine } from "./machine.ts";

/** The main crash region of {@link CRASH_IOMEM} (end exclusive). */
export const CRASH_REGION = { start: 0x69000000, end: 0x79000000 };
/** Direct-map base of the fake kernel (CONFIG_RANDOMIZE_MEMORY). */
export const PAGE_OFFSET = 0xffff9e4a40000000n;
/** Virtual `_text` and `_end` of the fake kernel (KASLR). */
export const TEXT = 0xffffffff9a000000n;
export const END = 0xffffffff9d5c6000n;
/** Physical `_text` ("Kernel code" start). */
export const KERNEL_CODE = 0x1e000000;
/** Crash note buffers of the two CPUs, and VMCOREINFO. */
export const CPU_NOTES = [
  { cpu: 0, address: 0x7fc1f458, size: 432 },
  { cpu: 1, address: 0x7fc5f458, size: 432 },
];
export const VMCOREINFO = { address: 0x2c4a000, size: 0x1024 };

/** /proc/iomem of a 2 GiB SeaBIOS guest with crashkernel=256M. */
export const CRASH_IOMEM = `00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000c0000-000c99ff : Video ROM
000ca000-000cadff : Adapter ROM
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-7ffdffff : System RAM
  1e000000-1ee02a06 : Kernel code
  1f000000-1f62bfff : Kernel rodata
  1f800000-1fb4b1bf : Kernel data
  2004f000-205fffff : Kernel bss
  69000000-78ffffff : Crash kernel
7ffe0000-7fffffff : Reserved
80000000-febfffff : PCI Bus 0000:00
  fd000000-fdffffff : 0000:00:02.0
fec00000-fec003ff : IOAPIC 0
fed00000-fed003ff : HPET 0
fee00000-fee00fff : Local APIC
fffc0000-ffffffff : Reserved
fd00000000-ffffffffff : Reserved
`;

/** One /proc/kcore PT_LOAD: virtual address, physical address (undefined = none), size. */
export interface KcoreEntry {
  vaddr: bigint;
  paddr?: bigint;
  memsz: bigint;
}

/**
 * Where /proc/kcore puts a PT_LOAD's bytes: x86_64's kc_vaddr_to_offset
 * (the address masked with __VIRTUAL_MASK, 56 bits with 5-level paging
 * support) plus the header room, as a Debian 6.1 guest shows; beyond 2^53.
 */
export const KCORE_DATA_OFFSET = 0x4000n;
export function kcoreOffset(vaddr: bigint): bigint {
  return (vaddr & 0x00ffffffffffffffn) + KCORE_DATA_OFFSET;
}

/** The /proc/kcore entries of the fake kernel, in the kernel's list order. */
export function kcoreEntries(): KcoreEntry[] {
  return [
    { vaddr: TEXT, paddr: BigInt(KERNEL_CODE), memsz: END - TEXT },
    { vaddr: 0xffffffffc0000000n, memsz: 0x3f000000n }, // modules
    { vaddr: 0xffffa6a700000000n, memsz: 0x1fffffffffffn }, // vmalloc
    { vaddr: PAGE_OFFSET + 0x1000n, paddr: 0x1000n, memsz: 0x9e000n },
    { vaddr: PAGE_OFFSET + 0x100000n, paddr: 0x100000n, memsz: 0x7fee0000n },
    { vaddr: 0xffffd1f7c0000000n, memsz: 0x2000000n }, // vmemmap
  ];
}

/** An ELF64 core header as /proc/kcore starts: a PT_NOTE, then the PT_LOADs. */
export function kcoreHeader(entries: KcoreEntry[] = kcoreEntries()): Uint8Array {
  const count = entries.length + 1;
  const bytes = new Uint8Array(64 + 56 * count + 512);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  v.setUint16(0x10, 4, true); // ET_CORE
  v.setUint16(0x12, 62, true);
  v.setUint32(0x14, 1, true);
  v.setBigUint64(0x20, 64n, true); // e_phoff
  v.setUint16(0x34, 64, true);
  v.setUint16(0x36, 56, true);
  v.setUint16(0x38, count, true);
  v.setUint32(64, 4, true); // PT_NOTE first, pointing at a VMCOREINFO note after the headers
  const note = vmcoreinfoNote("OSRELEASE=6.1.0-57-amd64\nPAGESIZE=4096\n");
  const noteAt = 64 + 56 * count;
  bytes.set(note, noteAt);
  v.setBigUint64(64 + 8, BigInt(noteAt), true);
  v.setBigUint64(64 + 0x20, BigInt(note.length), true);
  entries.forEach((e, i) => {
    const at = 64 + 56 * (i + 1);
    v.setUint32(at, 1, true);
    v.setUint32(at + 4, 7, true);
    v.setBigUint64(at + 0x08, kcoreOffset(e.vaddr), true);
    v.setBigUint64(at + 0x10, e.vaddr, true);
    v.setBigUint64(at + 0x18, e.paddr ?? 0xffffffffffffffffn, true);
    v.setBigUint64(at + 0x20, e.memsz, true);
    v.setBigUint64(at + 0x28, e.memsz, true);
    v.setBigUint64(at + 0x30, 4096n, true);
  });
  return bytes;
}

/** An ELF note named VMCOREINFO (namesz, descsz, type 0, name and text padded to 4). */
export function vmcoreinfoNote(text: string): Uint8Array {
  const desc = new TextEncoder().encode(text);
  const note = new Uint8Array(12 + 12 + Math.ceil(desc.length / 4) * 4);
  const v = new DataView(note.buffer);
  v.setUint32(0, 11, true);
  v.setUint32(4, desc.length, true);
  note.set(new TextEncoder().encode("VMCOREINFO\0"), 12);
  note.set(desc, 24);
  return note;
}

/** The crash-related files; `extra` overrides or adds (undefined removes). */
export function crashFiles(): Record<string, FakeFile> {
  const cpu = "/sys/devices/system/cpu";
  const files: Record<string, FakeFile> = {
    [PATHS.procIomem]: CRASH_IOMEM,
    [PATHS.cpuPossible]: "0-1\n",
    [PATHS.vmcoreinfo]: `0x${VMCOREINFO.address.toString(16).padStart(16, "0")} ` +
      `${VMCOREINFO.size.toString(16)}\n`,
    [PATHS.kallsyms]: `${TEXT.toString(16)} T _text\n${TEXT.toString(16)} T startup_64\n` +
      `${(TEXT + 0x1000n).toString(16)} T _stext\n${END.toString(16)} B _end\n` +
      "ffffffffc0a01000 t helper\t[virtio_net]\n",
    [PATHS.kcore]: kcoreHeader(),
  };
  for (const n of CPU_NOTES) {
    files[`${cpu}/cpu${n.cpu}/crash_notes`] = `${n.address.toString(16)}\n`;
    files[`${cpu}/cpu${n.cpu}/crash_notes_size`] = `${n.size}\n`;
  }
  return files;
}

/**
 * A fake machine ready for `-p -c`; `extra` overrides or adds files (undefined
 * removes one), `kernel` says how its kernel answers.
 */
export function crashMachine(
  extra: Record<string, FakeFile | undefined> = {},
  kernel: FakeKernel = {},
): ReturnType<typeof machine> {
  return machine({ ...crashFiles(), [PATHS.kexecCrashSize]: "268435456\n", ...extra }, kernel);
}
