/**
 * The crash kernel's e820 (as arch/x86/kernel/crash.c crash_setup_memmap_entries
 * builds it) and command line additions.
 */

import assert from "node:assert/strict";
import { e820FromMemoryMap } from "../../lib/arch/x86_64/e820.ts";
import { crashCmdline } from "../../lib/crash/cmdline.ts";
import { crashKernelMemoryMap } from "../../lib/crash/memory_map.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";

const IOMEM = `00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000a0000-000bffff : PCI Bus 0000:00
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-bffdffff : System RAM
  01000000-01e02a06 : Kernel code
  0b000000-12ffffff : Crash kernel
bffe0000-bffeffff : ACPI Tables
bfff0000-bfffffff : ACPI Non-volatile Storage
c0000000-febfffff : PCI Bus 0000:00
fffc0000-ffffffff : Reserved
100000000-43fffffff : System RAM
  420000000-43fffffff : Crash kernel
440000000-47fffffff : Persistent Memory
`;
const MAIN = { start: 0x420000000, end: 0x440000000 };
const LOW = { start: 0xb000000, end: 0x13000000 };

Deno.test("crash e820: low RAM, ACPI, NVS, reserved, low region, main region minus elfcorehdr", () => {
  const elfcorehdr = { start: 0x43ffff000, end: 0x440000000 };
  const e820 = e820FromMemoryMap(
    crashKernelMemoryMap(parseIomem(IOMEM), { main: MAIN, low: LOW }, [elfcorehdr]),
  );
  assert.deepEqual(e820, [
    { addr: 0, size: 0x1000, type: 2 },
    { addr: 0x1000, size: 0x9ec00, type: 1 },
    { addr: 0x9fc00, size: 0x400, type: 2 },
    { addr: 0xf0000, size: 0x10000, type: 2 },
    { addr: 0xb000000, size: 0x8000000, type: 1 },
    { addr: 0xbffe0000, size: 0x10000, type: 3 },
    { addr: 0xbfff0000, size: 0x10000, type: 4 },
    { addr: 0xfffc0000, size: 0x40000, type: 2 },
    { addr: 0x420000000, size: 0x1ffff000, type: 1 },
  ]);
});

Deno.test("crash e820: none of the dumped RAM, no PCI windows, no persistent memory", () => {
  const map = crashKernelMemoryMap(parseIomem(IOMEM), { main: MAIN, low: LOW });
  const ram = map.filter((r) => r.kind === "ram");
  const inside = (a: number, r: { start: number; end: number }) => a >= r.start && a < r.end;
  for (const probe of [0x100000, 0x1000000, 0x13000000, 0x100000000, 0x41fffffff]) {
    assert.ok(!ram.some((r) => inside(probe, r)), `0x${probe.toString(16)} must not be RAM`);
  }
  assert.ok(!map.some((r) => r.kind === "pmem" || r.start === 0xc0000000));
  assert.deepEqual(ram.at(-1), { ...MAIN, kind: "ram" }, "whole main region without exclusions");
});

Deno.test("crash e820: an elfcorehdr in the middle splits the region; slivers under 4 KiB dropped", () => {
  const iomem = parseIomem(IOMEM);
  const mid = crashKernelMemoryMap(iomem, { main: MAIN }, [
    { start: 0x430000000, end: 0x430001000 },
  ]).filter((r) => r.start >= MAIN.start);
  assert.deepEqual(mid.map((r) => [r.start, r.end]), [
    [0x420000000, 0x430000000],
    [0x430001000, 0x440000000],
  ]);
  const sliver = crashKernelMemoryMap(iomem, { main: MAIN }, [
    { start: 0x420000800, end: 0x43fffffff },
  ]).filter((r) => r.start >= MAIN.start);
  assert.deepEqual(sliver, [], "0x800 bytes before and 1 byte after are not worth an entry");
});

Deno.test("crash cmdline: elfcorehdr= first, user text kept byte for byte", () => {
  const user = 'console=ttyS0  panic=-1 e2e.arg="a b"';
  const { cmdline } = crashCmdline({ cmdline: user, elfcorehdr: 0x78fff000, protocol: 0x020f });
  assert.equal(cmdline, `elfcorehdr=0x78fff000 ${user}`);
  assert.equal(
    crashCmdline({ cmdline: "", elfcorehdr: 0x1000, protocol: 0x020f }).cmdline,
    "elfcorehdr=0x1000",
  );
});

Deno.test("crash cmdline: a given elfcorehdr= is replaced, not duplicated", () => {
  const { cmdline, notes } = crashCmdline({
    cmdline: "root=/dev/vda elfcorehdr=0x1000 irqpoll",
    elfcorehdr: 0x78fff000,
    protocol: 0x020f,
  });
  assert.equal(cmdline, "elfcorehdr=0x78fff000 root=/dev/vda irqpoll");
  assert.ok(notes.some((n) => /removed/.test(n)));
});

Deno.test("crash cmdline: acpi_rsdp= only for UEFI machines and kernels before protocol 2.14", () => {
  const base = { cmdline: "irqpoll", elfcorehdr: 0x78fff000 };
  assert.equal(
    crashCmdline({ ...base, efiRsdp: 0x7f014, protocol: 0x020d }).cmdline,
    "elfcorehdr=0x78fff000 irqpoll acpi_rsdp=0x7f014",
  );
  assert.equal(
    crashCmdline({ ...base, efiRsdp: 0x7f014, protocol: 0x020e }).cmdline,
    "elfcorehdr=0x78fff000 irqpoll",
    "2.14 kernels read boot_params.acpi_rsdp_addr",
  );
  assert.equal(
    crashCmdline({ ...base, protocol: 0x020d }).cmdline,
    "elfcorehdr=0x78fff000 irqpoll",
    "BIOS machine: the kernel scans for the RSDP itself",
  );
  assert.equal(
    crashCmdline({ ...base, cmdline: "acpi_rsdp=0x1", efiRsdp: 0x7f014, protocol: 0x020d })
      .cmdline,
    "elfcorehdr=0x78fff000 acpi_rsdp=0x1",
    "the user's acpi_rsdp= wins",
  );
});
