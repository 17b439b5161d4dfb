/**
 * End-to-end acceptance of Multiboot on x86_64 (issue 17): kexec_load with
 * `--module` boots a tiny Multiboot kernel (flat image, a.out kludge) and a
 * tiny Multiboot2 kernel (ELF32), both assembled from tests/e2e/multiboot/
 * at test set-up, which report the boot information and the CPU state they
 * got on the results port; and Debian's Xen hypervisor, gzip'd as shipped,
 * starts building dom0 from the Debian kernel and an initrd given as modules.
 */
import assert from "node:assert/strict";
import { type GuestRun, runGuestCase } from "./harness/guest.ts";
import { checker, expectRc, stepInfo, value } from "./harness/checks.ts";
import { defaultCacheDir } from "../../scripts/fetch-test-assets.ts";
import { buildMultibootTestKernels } from "./multiboot/build.ts";
import { ensureXen } from "./multiboot/xen.ts";

const MB_APPEND = `console=ttyS0 mb.arg="a b" x=1 mb.sq='c d'`;
const KERNEL_GUEST = "/e2e/mbkernel";
const MODULE0_GUEST = "/e2e/mbmodule0.bin";
const MODULE1_GUEST = "/e2e/mbmodule1.txt";
/** Module strings: "FILE ARGS", with spaces and quotes in the arguments. */
const MODULE0_ARG = `${MODULE0_GUEST} root=/dev/ram0 m0="x y"`;
const MODULE1_ARG = MODULE1_GUEST;
const MODULE1_TEXT = "second module: plain text, 16+ bytes\n";
/**
 * Guest limits. The test kernels power off at once: a guest is Linux booting, three deno starts
 * and the kexec, about 21 s of QEMU CPU time (40-48 s wall on the shared 2-core machine under a
 * load of 9). The Xen guest adds Xen inflating and parsing dom0's kernel and its 5 s reboot
 * delay after dom0 dies: about 32 s of CPU time (55-80 s wall under the same load). 120 s (the
 * harness maximum) is more than 3 times either quiet run.
 */
const MB_TIMEOUT_MS = 120_000;
const XEN_TIMEOUT_MS = 120_000;

interface MbReport {
  magic: number;
  /** Multiboot: the information's flags. */
  flags?: number;
  state: Record<string, string>;
  cmdline?: string;
  loader?: string;
  mem?: { lower: number; upper: number };
  mmap: { base: bigint; len: bigint; type: number }[];
  modules: { start: number; end: number; head: string; cmdline: string }[];
  tags: { type: number; size: number }[];
  ended: boolean;
}

function fieldsOf(text: string): Record<string, string> {
  return Object.fromEntries(
    text.trim().split(/\s+/).map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]),
  );
}

/** The E2E-MB lines the test kernel printed. */
function mbReport(run: GuestRun): MbReport {
  const r: MbReport = { magic: 0, state: {}, mmap: [], modules: [], tags: [], ended: false };
  for (const line of run.report.lines) {
    if (!line.startsWith("E2E-MB ")) continue;
    const rest = line.slice("E2E-MB ".length);
    const [what] = rest.split(/[ =]/, 1);
    const after = rest.slice(what.length + 1);
    switch (what) {
      case "version": {
        const f = fieldsOf(rest);
        r.magic = parseInt(f.magic, 16);
        if (f.flags) r.flags = parseInt(f.flags, 16);
        break;
      }
      case "state":
        r.state = fieldsOf(after);
        break;
      case "cmdline":
        r.cmdline = after;
        break;
      case "loader":
        r.loader = after;
        break;
      case "mem": {
        const f = fieldsOf(after);
        r.mem = { lower: parseInt(f.lower, 16), upper: parseInt(f.upper, 16) };
        break;
      }
      case "mmap": {
        const f = fieldsOf(after);
        r.mmap.push({
          base: BigInt(`0x${f.base}`),
          len: BigInt(`0x${f.len}`),
          type: parseInt(f.type, 16),
        });
        break;
      }
      case "module": {
        const at = after.indexOf(" cmdline=");
        const f = fieldsOf(after.slice(0, at));
        r.modules.push({
          start: parseInt(f.start, 16),
          end: parseInt(f.end, 16),
          head: f.head,
          cmdline: after.slice(at + " cmdline=".length),
        });
        break;
      }
      case "tag": {
        const f = fieldsOf(after);
        r.tags.push({ type: parseInt(f.type, 16), size: parseInt(f.size, 16) });
        break;
      }
      case "end":
        r.ended = true;
        break;
    }
  }
  return r;
}

function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** E820 type numbers of the memory kinds -d prints (both specifications use them). */
const E820_TYPES: Record<string, number> = {
  ram: 1,
  reserved: 2,
  acpi: 3,
  nvs: 4,
  unusable: 5,
  pmem: 7,
  pram: 12,
  "soft-reserved": 0xefffffff,
};

/** The guest's firmware memory map as -d printed it (the tool's own notes). */
function debugMemoryMap(run: GuestRun): { start: bigint; end: bigint; kind: string }[] {
  const s = expectRc(run, "load", 0);
  return s.err.flatMap((line) => {
    const m = line.match(/^kexec:\s+0x([0-9a-f]{16})-0x([0-9a-f]{16}) (\S+)$/);
    return m ? [{ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`) + 1n, kind: m[3] }] : [];
  });
}

interface Prepared {
  files: { host: string; guest: string }[];
  module0: Uint8Array;
}

async function prepareFiles(kernel: string): Promise<Prepared> {
  const dir = `${defaultCacheDir()}/multiboot`;
  await Deno.mkdir(dir, { recursive: true });
  // 64 KiB + 3 of fresh random bytes: not a whole page, different every run.
  const module0 = new Uint8Array(65536 + 3);
  for (let at = 0; at < module0.length; at += 65536) {
    crypto.getRandomValues(module0.subarray(at, at + 65536));
  }
  await Deno.writeFile(`${dir}/module0.bin`, module0);
  await Deno.writeTextFile(`${dir}/module1.txt`, MODULE1_TEXT);
  return {
    module0,
    files: [
      { host: kernel, guest: KERNEL_GUEST },
      { host: `${dir}/module0.bin`, guest: MODULE0_GUEST },
      { host: `${dir}/module1.txt`, guest: MODULE1_GUEST },
    ],
  };
}

async function multibootCase(t: Deno.TestContext, version: 1 | 2): Promise<void> {
  const kernels = await buildMultibootTestKernels(`${defaultCacheDir()}/multiboot/build`);
  const prepared = await prepareFiles(version === 1 ? kernels.mb1 : kernels.mb2);
  const run = await runGuestCase({
    name: `multiboot${version}`,
    script: "multiboot.sh",
    files: prepared.files,
    timeoutMs: MB_TIMEOUT_MS,
    params: {
      MB_KERNEL: KERNEL_GUEST,
      MB_APPEND,
      MB_MODULE0: MODULE0_ARG,
      MB_MODULE1: MODULE1_ARG,
      MB_TYPE: version === 1 ? "multiboot-x86" : "",
    },
  });
  const check = checker(t, run);
  const mb = mbReport(run);
  await check(
    "the load succeeds; a load with a missing module fails and keeps it loaded",
    (run) => {
      expectRc(run, "load", 0);
      assert.equal(value(run, "loaded_after_load"), "1");
      const bad = expectRc(run, "load_missing_module", 255);
      assert.equal(bad.err.length, 1, stepInfo(bad));
      assert.match(bad.err[0], /module \/e2e\/no-such-module/, stepInfo(bad));
      assert.equal(value(run, "loaded_after_missing_module"), "1");
    },
  );
  await check(
    `-e starts the kernel with EAX = the Multiboot${version === 2 ? "2" : ""} magic`,
    () => {
      assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
      assert.equal(mb.magic, version === 1 ? 0x2badb002 : 0x36d76289, "EAX");
      assert.ok(mb.ended, "the kernel did not finish its report");
      if (version === 1) {
        // memory, command line, modules, memory map, boot loader name.
        assert.equal(mb.flags, 0x24d, "Multiboot information flags");
      } else {
        // Requested optionally but not available on this BIOS guest: EFI64 (12), ACPI RSDP (15).
        assert.deepEqual(mb.tags, [], "no tags beyond 1, 2, 3, 4, 6 and the end tag");
      }
    },
  );
  await check(
    "CPU state: 32-bit protected mode, paging off, no long mode, IF clear, bss zero",
    () => {
      const cr0 = parseInt(mb.state.cr0, 16);
      assert.equal(cr0 & 0x80000001, 1, `CR0 ${mb.state.cr0}: PE set, PG clear`);
      assert.equal(parseInt(mb.state.efer, 16) & 0x500, 0, `EFER ${mb.state.efer}: LME, LMA clear`);
      assert.equal(parseInt(mb.state.eflags, 16) & 0x20200, 0, `EFLAGS ${mb.state.eflags}: IF, VM`);
      assert.equal(mb.state.bss, "zero", "the loader zeroes memsz beyond the file bytes");
    },
  );
  await check("command line: the kernel's path, a space, the --append text", () => {
    assert.equal(mb.cmdline, `${KERNEL_GUEST} ${MB_APPEND}`);
    assert.equal(mb.loader, "kexec (Deno)");
  });
  await check("memory: the firmware map as passed, mem_lower/mem_upper from it", (run) => {
    const map = debugMemoryMap(run);
    assert.ok(map.length >= 3, "no memory map in -d output");
    assert.deepEqual(
      mb.mmap.map((e) => ({ start: e.base, end: e.base + e.len, type: e.type })),
      map.map((r) => ({ start: r.start, end: r.end, type: E820_TYPES[r.kind] })),
    );
    assert.equal(mb.mem?.lower, 639);
    const high = map.find((r) => r.kind === "ram" && r.start === 0x100000n)!;
    assert.equal(BigInt(mb.mem!.upper), (high.end - 0x100000n) / 1024n);
  });
  await check(
    "modules in order: page-aligned, exact lengths, first bytes, strings as given",
    () => {
      assert.equal(mb.modules.length, 2);
      const [m0, m1] = mb.modules;
      assert.equal(m0.cmdline, MODULE0_ARG);
      assert.equal(m1.cmdline, MODULE1_ARG);
      assert.equal(m0.end - m0.start, prepared.module0.length);
      assert.equal(m1.end - m1.start, MODULE1_TEXT.length);
      assert.equal(m0.head, hexOf(prepared.module0.subarray(0, 16)));
      assert.equal(m1.head, hexOf(new TextEncoder().encode(MODULE1_TEXT).subarray(0, 16)));
      for (const m of mb.modules) assert.equal(m.start % 4096, 0, `module at ${m.start}`);
    },
  );
}

Deno.test("e2e x86_64: a Multiboot kernel (a.out kludge) boots with --module through -t multiboot-x86", async (t) => {
  await multibootCase(t, 1);
});

Deno.test("e2e x86_64: a Multiboot2 kernel (ELF32) boots with --module, optional tags ignored", async (t) => {
  await multibootCase(t, 2);
});

/** Xen's command line: serial console, all messages, a small dom0. */
const XEN_APPEND = "console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all dom0_mem=256M " +
  "dom0_max_vcpus=1";
const DOM0_APPEND = "console=hvc0 earlyprintk=xen e2e.dom0=1";
const XEN_GUEST = "/e2e/xen.gz";
const XEN_MEMORY_MIB = 3072;

/** Xen's console lines (without the "(XEN) " prefix). */
function xenLines(run: GuestRun): string[] {
  return run.qemu.console.replaceAll("\r", "").split("\n").flatMap((l) => {
    const at = l.indexOf("(XEN) ");
    return at < 0 ? [] : [l.slice(at + "(XEN) ".length)];
  });
}

function xenLine(run: GuestRun, pattern: RegExp): RegExpMatchArray {
  for (const line of xenLines(run)) {
    const m = line.match(pattern);
    if (m) return m;
  }
  throw new assert.AssertionError({ message: `Xen never printed ${pattern}` });
}

/** Segment rows `-d` printed for the load made (rows of segmentTableLines). */
function debugSegment(run: GuestRun, name: string): { mem: number; memsz: number } {
  const s = expectRc(run, "load", 0);
  for (const line of s.err) {
    const m = line.match(/^kexec:\s+\d+\s+(\S+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s*$/);
    if (m && m[1] === name) return { mem: Number(m[2]), memsz: Number(m[3]) };
  }
  throw new assert.AssertionError({ message: `no ${name} segment in -d output\n${stepInfo(s)}` });
}

Deno.test("e2e x86_64: Debian's xen.gz with the Debian kernel and an initrd as modules starts building dom0", async (t) => {
  const xen = await ensureXen(defaultCacheDir());
  const run = await runGuestCase({
    name: "multiboot-xen",
    script: "multiboot.sh",
    memoryMiB: XEN_MEMORY_MIB,
    files: [{ host: xen.xen, guest: XEN_GUEST }],
    timeoutMs: XEN_TIMEOUT_MS,
    params: {
      MB_KERNEL: XEN_GUEST,
      MB_APPEND: XEN_APPEND,
      MB_MODULE0: `/e2e/vmlinuz ${DOM0_APPEND}`,
      MB_MODULE1: "/e2e/stage2.cpio",
      MB_TYPE: "",
      MB_SKIP_BAD: "1",
    },
  });
  const check = checker(t, run);
  await check(`kexec -l ${xen.source} (gzip'd) with two modules succeeds`, (run) => {
    const s = expectRc(run, "load", 0);
    assert.ok(s.err.some((l) => /xen\.gz: gzip/.test(l)), `unwrapped from gzip\n${stepInfo(s)}`);
    assert.ok(s.err.some((l) => /Multiboot2 header/.test(l)), "Xen boots through Multiboot2");
    assert.equal(value(run, "loaded_after_load"), "1");
    assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
  });
  await check("Xen prints its banner, our name and exactly the command line given", (run) => {
    xenLine(run, /^Xen version 4\.17\./);
    assert.equal(xenLine(run, /^Bootloader: (.*)$/)[1], "kexec (Deno)");
    // Xen drops the first word (the image path) unless the loader is GRUB 2.
    assert.equal(xenLine(run, /^Command line: (.*)$/)[1], XEN_APPEND);
  });
  await check(
    "Xen runs where the relocatable tag let us put it, with the firmware memory map",
    (run) => {
      const base = Number(xenLine(run, /^Xen image load base address: (0x[0-9a-f]+)$/)[1]);
      // Xen's image base lies 2 MiB below its first byte (start = __image_base__ + 2 MiB).
      assert.equal(base + 0x200000, debugSegment(run, "kernel").mem);
      const e820 = xenLines(run).flatMap((l) => {
        const m = l.match(/^ \[([0-9a-f]{16}), ([0-9a-f]{16})\] \((usable|reserved)\)$/);
        return m
          ? [{ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`) + 1n, ram: m[3] === "usable" }]
          : [];
      });
      assert.deepEqual(
        e820,
        debugMemoryMap(run).map((r) => ({ start: r.start, end: r.end, ram: r.kind === "ram" })),
      );
    },
  );
  await check("Xen builds dom0 from module 0 (the kernel) and module 1 (the initrd)", (run) => {
    xenLine(run, /^\*\*\* Building a PV Dom0 \*\*\*$/);
    xenLine(run, /^ Dom0 kernel: 64-bit, PAE, lsb/);
    const rd = xenLine(run, /^ Init\. ramdisk: ([0-9a-f]{16})->([0-9a-f]{16})$/);
    assert.equal(
      Number(BigInt(`0x${rd[2]}`) - BigInt(`0x${rd[1]}`)),
      Number(value(run, "module1_size")),
    );
  });
});
