/**
 * The elfcorehdr bytes for a synthetic machine (issue 5): 2 CPUs, 3 RAM
 * ranges, a crash region in the middle of the first one. Every field is read
 * back at offsets written out here (System V gABI "ELF Header", "Program
 * Header"), independently of the library's offset tables.
 */

import assert from "node:assert/strict";
import { dumpRamRanges } from "../../lib/crash/dump_ranges.ts";
import {
  buildElfCoreHeader,
  describeElfCoreHeader,
  type ElfCoreHeaderInput,
  elfCoreProgramHeaders,
} from "../../lib/crash/elfcorehdr.ts";
import { findCrashRegions } from "../../lib/crash/region.ts";
import { KexecError } from "../../lib/errors.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";

const IOMEM = `00100000-3fffffff : System RAM
  01000000-01e02a06 : Kernel code
  20000000-2fffffff : Crash kernel
40000000-febfffff : PCI Bus 0000:00
100000000-13fffffff : System RAM
200000000-27fffffff : System RAM
`;
const PAGE_OFFSET = 0xffff9e4a40000000n;
const TEXT_VADDR = 0xffffffff9a000000n;

function syntheticInput(): ElfCoreHeaderInput {
  const iomem = parseIomem(IOMEM);
  return {
    machine: 62,
    cpuNotes: [
      { cpu: 0, address: 0x3fc1f458, size: 0x1b0 },
      { cpu: 1, address: 0x3fc5f458, size: 0x1b0 },
    ],
    vmcoreinfo: { address: 0x2c4a000, size: 0x1024 },
    kernelText: { vaddr: TEXT_VADDR, paddr: 0x1000000, size: 0x35c6000 },
    ram: dumpRamRanges(iomem, findCrashRegions(iomem)),
    pageOffset: PAGE_OFFSET,
  };
}

interface Phdr {
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
  align: bigint;
}

function readPhdr(view: DataView, i: number): Phdr {
  const at = 64 + 56 * i;
  return {
    type: view.getUint32(at, true),
    flags: view.getUint32(at + 4, true),
    offset: view.getBigUint64(at + 8, true),
    vaddr: view.getBigUint64(at + 16, true),
    paddr: view.getBigUint64(at + 24, true),
    filesz: view.getBigUint64(at + 32, true),
    memsz: view.getBigUint64(at + 40, true),
    align: view.getBigUint64(at + 48, true),
  };
}

const note = (address: number, size: number): Phdr => ({
  type: 4,
  flags: 0,
  offset: BigInt(address),
  vaddr: 0n,
  paddr: BigInt(address),
  filesz: BigInt(size),
  memsz: BigInt(size),
  align: 0n,
});

const load = (paddr: number, size: number, vaddr = PAGE_OFFSET + BigInt(paddr)): Phdr => ({
  type: 1,
  flags: 7,
  offset: BigInt(paddr),
  vaddr,
  paddr: BigInt(paddr),
  filesz: BigInt(size),
  memsz: BigInt(size),
  align: 0n,
});

Deno.test("elfcorehdr: ELF header fields of the synthetic machine", () => {
  const bytes = buildElfCoreHeader(syntheticInput());
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  assert.equal(bytes[4], 2, "EI_CLASS ELFCLASS64");
  assert.equal(bytes[5], 1, "EI_DATA little-endian");
  assert.equal(bytes[6], 1, "EI_VERSION");
  assert.equal(bytes[7], 0, "EI_OSABI");
  assert.deepEqual([...bytes.subarray(8, 16)], new Array(8).fill(0), "EI_ABIVERSION + pad");
  assert.equal(v.getUint16(0x10, true), 4, "e_type ET_CORE");
  assert.equal(v.getUint16(0x12, true), 62, "e_machine EM_X86_64");
  assert.equal(v.getUint32(0x14, true), 1, "e_version");
  assert.equal(v.getBigUint64(0x18, true), 0n, "e_entry");
  assert.equal(v.getBigUint64(0x20, true), 64n, "e_phoff");
  assert.equal(v.getBigUint64(0x28, true), 0n, "e_shoff");
  assert.equal(v.getUint32(0x30, true), 0, "e_flags");
  assert.equal(v.getUint16(0x34, true), 64, "e_ehsize");
  assert.equal(v.getUint16(0x36, true), 56, "e_phentsize");
  // 2 CPU notes + VMCOREINFO + kernel text + RAM: 2 pieces of the first range, 2 whole ranges.
  assert.equal(v.getUint16(0x38, true), 8, "e_phnum");
  assert.equal(v.getUint16(0x3a, true), 0, "e_shentsize");
  assert.equal(v.getUint16(0x3c, true), 0, "e_shnum");
  assert.equal(v.getUint16(0x3e, true), 0, "e_shstrndx");
  assert.equal(bytes.length, 64 + 8 * 56, "nothing after the program headers");
});

Deno.test("elfcorehdr: every program header of the synthetic machine, field by field", () => {
  const bytes = buildElfCoreHeader(syntheticInput());
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const expected: Phdr[] = [
    note(0x3fc1f458, 0x1b0),
    note(0x3fc5f458, 0x1b0),
    note(0x2c4a000, 0x1024),
    load(0x1000000, 0x35c6000, TEXT_VADDR),
    load(0x100000, 0x20000000 - 0x100000), // first range up to the crash region
    load(0x30000000, 0x40000000 - 0x30000000), // and after it
    load(0x100000000, 0x40000000),
    load(0x200000000, 0x80000000),
  ];
  expected.forEach((want, i) => assert.deepEqual(readPhdr(v, i), want, `program header ${i}`));
});

Deno.test("elfcorehdr: no VMCOREINFO and no kernel text leave those headers out", () => {
  const input = { ...syntheticInput(), vmcoreinfo: undefined, kernelText: undefined };
  const bytes = buildElfCoreHeader(input);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(v.getUint16(0x38, true), 6);
  assert.deepEqual(readPhdr(v, 2), load(0x100000, 0x20000000 - 0x100000));
});

Deno.test("elfcorehdr: program headers and the summary agree with the bytes", () => {
  const input = syntheticInput();
  const headers = elfCoreProgramHeaders(input);
  assert.deepEqual(headers.map((h) => h.what), [
    "cpu0 crash notes",
    "cpu1 crash notes",
    "VMCOREINFO",
    "kernel text",
    "RAM",
    "RAM",
    "RAM",
    "RAM",
  ]);
  const lines = describeElfCoreHeader(headers);
  assert.match(lines[0], /8 program headers \(2 CPU notes, 1 VMCOREINFO, 1 kernel text, 4 RAM\)/);
  const ram = 0x20000000 - 0x100000 + 0x10000000 + 0x40000000 + 0x80000000;
  assert.match(lines[0], new RegExp(`RAM dumped: ${ram} bytes`));
  assert.equal(lines.length, 1 + headers.length);
  assert.match(
    lines[4],
    /PT_LOAD kernel text: paddr 0x1000000, size 0x35c6000, vaddr 0xffffffff9a000000/,
  );
});

Deno.test("elfcorehdr: a header without any RAM is refused", () => {
  assert.throws(
    () => buildElfCoreHeader({ ...syntheticInput(), ram: [], kernelText: undefined }),
    (e) => e instanceof KexecError && /no memory at all/.test(e.message),
  );
});
