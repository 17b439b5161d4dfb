/**
 * EFI handover under UEFI (issue 13): boot_params efi_info, the runtime map
 * and the SETUP_EFI node the next kernel needs to keep EFI runtime services;
 * screen_info for the EFI framebuffer; for normal and crash loads on the
 * captured OVMF guest (tests/support/uefi_machine.ts), and every reason not to
 * hand EFI over.
 */

import assert from "node:assert/strict";
import { planEfiHandover } from "../../lib/arch/x86_64/efi.ts";
import { readEfiFirmware } from "../../lib/arch/x86_64/efi_source.ts";
import { planScreenInfo } from "../../lib/arch/x86_64/screen_info.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";
import { loadKernel } from "../../lib/load.ts";
import type { SegmentLoadPlan } from "../../lib/plan/types.ts";
import { silentReporter } from "../../lib/report.ts";
import type { FakeSystem } from "../support/fake_system.ts";
import { KERNEL, machine } from "../support/machine.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import {
  EFI_VALUES,
  ovmfBootParams,
  RUNNING_EFI_INFO,
  RUNTIME_MAP,
  uefiMachine,
} from "../support/uefi_machine.ts";

const SETUP_EFI = 4;

/** The kexec_load plan of `kexec -c [-p]` on `sys` (a dry run: nothing is called). */
async function plan(sys: FakeSystem, crash = false): Promise<SegmentLoadPlan> {
  const r = await loadKernel(sys, {
    kernel: KERNEL,
    initrds: [],
    cmdline: "console=ttyS0",
    crash,
    syscall: "load",
    dryRun: true,
  }, silentReporter);
  assert.equal(sys.calls.filter((c) => c.op.startsWith("kexec")).length, 0);
  return r.plans[0] as SegmentLoadPlan;
}

/** Reads physical memory as the plan lays it out. */
function physical(p: SegmentLoadPlan, address: number, length: number): Uint8Array {
  const s = p.segments.find((x) => address >= x.mem && address + length <= x.mem + x.buf.length);
  assert.ok(s, `0x${address.toString(16)} is in no segment`);
  return s.buf.subarray(address - s.mem, address - s.mem + length);
}

/** The boot_params page and its view. */
function bootParams(p: SegmentLoadPlan) {
  const bp = p.segments.find((s) => s.name === "boot_params")!.buf.subarray(0, 4096);
  return { bp, v: new DataView(bp.buffer, bp.byteOffset, 4096) };
}

/** setup_data nodes by following `next` from boot_params 0x250. */
function setupData(p: SegmentLoadPlan): { type: number; data: Uint8Array }[] {
  const { v } = bootParams(p);
  const nodes = [];
  for (let at = Number(v.getBigUint64(0x250, true)); at !== 0;) {
    const head = physical(p, at, 16);
    const hv = new DataView(head.buffer, head.byteOffset, 16);
    const len = hv.getUint32(12, true);
    nodes.push({ type: hv.getUint32(8, true), data: physical(p, at + 16, len) });
    at = Number(hv.getBigUint64(0, true));
  }
  return nodes;
}

/** Expected runtime map bytes, written out field by field (efi_memory_desc_t, 40 bytes). */
function expectedMemmap(): Uint8Array {
  const b = new Uint8Array(RUNTIME_MAP.length * 40);
  const v = new DataView(b.buffer);
  RUNTIME_MAP.forEach((d, i) => {
    v.setUint32(i * 40, d.type, true);
    v.setBigUint64(i * 40 + 8, d.phys, true);
    v.setBigUint64(i * 40 + 16, d.virt, true);
    v.setBigUint64(i * 40 + 24, d.pages, true);
    v.setBigUint64(i * 40 + 32, d.attr, true);
  });
  return b;
}

function expectEfiHandedOver(p: SegmentLoadPlan): void {
  const { bp, v } = bootParams(p);
  assert.equal(new TextDecoder().decode(bp.subarray(0x1c0, 0x1c4)), "EL64");
  assert.equal(v.getUint32(0x1c4, true), RUNNING_EFI_INFO.systab, "efi_systab");
  assert.equal(v.getUint32(0x1d8, true), 0, "efi_systab_hi");
  assert.equal(v.getUint32(0x1c8, true), 40, "efi_memdesc_size: our 40-byte descriptors");
  assert.equal(v.getUint32(0x1cc, true), 1, "efi_memdesc_version");
  assert.equal(v.getUint32(0x1d4, true), RUNTIME_MAP.length * 40, "efi_memmap_size");
  const memmap = v.getUint32(0x1d0, true) + v.getUint32(0x1dc, true) * 2 ** 32;
  assert.deepEqual(physical(p, memmap, RUNTIME_MAP.length * 40), expectedMemmap());
  assert.equal(bp[0x1ec], 2, "secure_boot carried");
  const efi = setupData(p).filter((n) => n.type === SETUP_EFI);
  assert.equal(efi.length, 1, "one SETUP_EFI node");
  const ev = new DataView(efi[0].data.buffer, efi[0].data.byteOffset, efi[0].data.length);
  assert.equal(efi[0].data.length, 96);
  assert.equal(ev.getBigUint64(0, true), EFI_VALUES.fwVendor);
  assert.equal(ev.getBigUint64(8, true), EFI_VALUES.runtime);
  assert.equal(ev.getBigUint64(16, true), EFI_VALUES.configTable);
  assert.equal(ev.getBigUint64(24, true), EFI_VALUES.smbios);
  assert.ok(efi[0].data.subarray(32).every((b) => b === 0), "reserved words zero");
}

Deno.test("UEFI -c -l: efi_info, the runtime map and SETUP_EFI, as the kernel's loader passes them", async () => {
  const p = await plan(uefiMachine());
  expectEfiHandedOver(p);
  assert.ok(
    p.notes.some((n) => /EFI: runtime services handed over: 8 runtime-map regions/.test(n)),
  );
});

Deno.test("UEFI -c -l: screen_info describes the EFI framebuffer; type_of_loader is kexec's 0xD0", async () => {
  const { bp, v } = bootParams(await plan(uefiMachine()));
  assert.deepEqual(bp.subarray(0, 0x40), ovmfBootParams().subarray(0, 0x40), "as booted");
  assert.equal(bp[0x0f], 0x70, "VIDEO_TYPE_EFI");
  assert.equal(v.getUint32(0x18, true), 0xc0000000, "lfb_base (efifb holds it there)");
  assert.equal(bp[0x210], 0xd0);
});

Deno.test("UEFI -c -p: the crash kernel gets EFI too, so no acpi_rsdp= on its command line", async () => {
  // Protocol 2.13 predates acpi_rsdp_addr: without EFI such a kernel would need acpi_rsdp=.
  const old = (xloadflags: number) => ({
    [KERNEL]: syntheticKernel({ version: 0x020d, xloadflags }),
  });
  const p = await plan(uefiMachine(old(0x7f)), true);
  expectEfiHandedOver(p);
  assert.doesNotMatch(p.cmdline, /acpi_rsdp=/);
  assert.equal(bootParams(p).bp[0x0f], 0x70, "screen_info for the crash kernel's console");
  const noEfi = await plan(uefiMachine(old(0x7f & ~0x10)), true);
  assert.match(noEfi.cmdline, / acpi_rsdp=0x7f77d014$/, "without EFI it finds ACPI this way");
});

Deno.test("BIOS machine: efi_info and screen_info zero, no SETUP_EFI, nothing said about EFI", async () => {
  const p = await plan(machine());
  const { bp } = bootParams(p);
  assert.ok(bp.subarray(0x1c0, 0x1e0).every((b) => b === 0));
  assert.ok(bp.subarray(0, 0x40).every((b) => b === 0));
  assert.ok(!setupData(p).some((n) => n.type === SETUP_EFI));
  assert.ok(!p.notes.some((n) => /^EFI/.test(n)));
});

Deno.test("UEFI: a kernel without XLF_EFI_KEXEC boots as on a BIOS machine, and -d says why", async () => {
  const sys = uefiMachine({ [KERNEL]: syntheticKernel({ xloadflags: 0x7f & ~0x10 }) });
  const p = await plan(sys);
  assert.ok(bootParams(p).bp.subarray(0x1c0, 0x1e0).every((b) => b === 0));
  assert.ok(!setupData(p).some((n) => n.type === SETUP_EFI));
  assert.ok(
    p.notes.some((n) => /EFI: not handed over: .*XLF_EFI_KEXEC/.test(n)),
    p.notes.join("\n"),
  );
});

Deno.test("planEfiHandover: every reason to keep EFI from the next kernel", () => {
  const firmware = readEfiFirmware(uefiMachine());
  const ok = { running: ovmfBootParams(), xloadflags: 0x1f, firmware };
  assert.ok(!("reason" in planEfiHandover(ok)));
  const reason = (input: Parameters<typeof planEfiHandover>[0]) => {
    const r = planEfiHandover(input);
    assert.ok("reason" in r, "expected a refusal");
    return r.reason;
  };
  const patched = (offset: number, value: number) => {
    const bp = ovmfBootParams();
    new DataView(bp.buffer).setUint32(offset, value, true);
    return bp;
  };
  assert.match(reason({ ...ok, running: undefined }), /boot_params are unreadable/);
  assert.match(reason({ ...ok, running: patched(0x1d4, 0) }), /not booted through UEFI/);
  assert.match(reason({ ...ok, running: patched(0x1c0, 0x32334c45) }), /"EL64": 32-bit/);
  assert.match(reason({ ...ok, running: patched(0x1cc, 2) }), /descriptor version 2/);
  assert.match(reason({ ...ok, xloadflags: 0x0f }), /XLF_EFI_KEXEC/);
  assert.match(reason({ ...ok, firmware: { ...firmware, runtimeMap: undefined } }), /runtime-map/);
  const unmapped = firmware.runtimeMap!.map((d) => ({ ...d, virtAddr: 0n }));
  assert.match(reason({ ...ok, firmware: { ...firmware, runtimeMap: unmapped } }), /noruntime/);
  assert.match(reason({ ...ok, firmware: { ...firmware, fwVendor: undefined } }), /fw_vendor/);
});

Deno.test("readEfiFirmware: entries in index order; one malformed entry drops the map", () => {
  const fw = readEfiFirmware(uefiMachine());
  assert.deepEqual(fw.runtimeMap?.map((d) => d.physAddr), RUNTIME_MAP.map((d) => d.phys));
  assert.equal(fw.smbios, EFI_VALUES.smbios);
  const broken = readEfiFirmware(
    uefiMachine({ "/sys/firmware/efi/runtime-map/3/virt_addr": "garbage\n" }),
  );
  assert.equal(broken.runtimeMap, undefined);
});

Deno.test("screen_info: a moved framebuffer follows efifb; a 64-bit base uses ext_lfb_base", () => {
  const running = ovmfBootParams();
  const moved = planScreenInfo(
    running,
    parseIomem("80000000-febfffff : PCI Bus 0000:00\n  d0000000-d03e7fff : efifb\n"),
  );
  const v = new DataView(moved.bytes!.buffer);
  assert.equal(v.getUint32(0x18, true), 0xd0000000);
  assert.match(moved.note, /moved from 0xc0000000 to 0xd0000000/);
  const high = planScreenInfo(running, parseIomem("4000000000-40003e7fff : efifb\n"));
  const hv = new DataView(high.bytes!.buffer);
  assert.equal(hv.getUint32(0x18, true), 0);
  assert.equal(hv.getUint32(0x3a, true), 0x40, "ext_lfb_base");
  assert.equal(hv.getUint32(0x36, true) & 2, 2, "VIDEO_CAPABILITY_64BIT_BASE");
  const text = ovmfBootParams();
  text[0x0f] = 0x01; // VGA text mode
  assert.equal(planScreenInfo(text, undefined).bytes, undefined);
});

Deno.test("UEFI with 150 e820 entries: RNG_SEED, SETUP_E820_EXT and SETUP_EFI chained, map after them", async () => {
  // EFI firmware fragments maps; 149 small ranges below 1 GiB and the real RAM above.
  const files: Record<string, string | { dir: string[] }> = {};
  const dir = "/sys/firmware/memmap";
  const n = 150;
  for (let i = 0; i < n - 1; i++) {
    const start = 0x100000 + i * 0x2000;
    files[`${dir}/${i}/start`] = `0x${start.toString(16)}\n`;
    files[`${dir}/${i}/end`] = `0x${(start + 0x1fff).toString(16)}\n`;
    files[`${dir}/${i}/type`] = i % 2 ? "Reserved\n" : "System RAM\n";
  }
  files[`${dir}/${n - 1}/start`] = "0x1000000\n";
  files[`${dir}/${n - 1}/end`] = "0x7fffffff\n";
  files[`${dir}/${n - 1}/type`] = "System RAM\n";
  files[dir] = { dir: Array.from({ length: n }, (_, i) => String(i)) };
  const p = await plan(uefiMachine(files));
  const nodes = setupData(p);
  assert.deepEqual(nodes.map((x) => x.type), [9, 1, SETUP_EFI]);
  assert.equal(bootParams(p).bp[0x1e8], 128);
  const ext = nodes[1].data;
  assert.equal(ext.length, (n - 128) * 20);
  const ev = new DataView(ext.buffer, ext.byteOffset, ext.length);
  assert.equal(Number(ev.getBigUint64(0, true)), 0x100000 + 128 * 0x2000, "entry 128 first");
  assert.equal(Number(ev.getBigUint64((n - 129) * 20, true)), 0x1000000, "the RAM above last");
  expectEfiHandedOver(p);
});
