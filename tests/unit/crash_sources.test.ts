/**
 * What a crash load reads from the running kernel: the text formats of
 * sysfs/procfs, the /proc/kcore program headers, and what is derived from them
 * (PAGE_OFFSET, the kernel text mapping), including when sources are missing.
 */

import assert from "node:assert/strict";
import { PATHS } from "../../lib/abi.ts";
import { kernelTextMapping, pageOffsetFromKcore } from "../../lib/crash/kernel_layout.ts";
import { X86_64_KERNEL_LAYOUT } from "../../lib/arch/x86_64/crash.ts";

const TEXT_AREA = X86_64_KERNEL_LAYOUT.kernelTextStart;
import {
  kcoreHeaderLength,
  parseCpuList,
  parseCrashNotesAddress,
  parseCrashNotesSize,
  parseKallsyms,
  parseKcoreLoads,
  parseVmcoreinfo,
  readCrashSources,
} from "../../lib/crash/sources.ts";
import { KexecError } from "../../lib/errors.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";
import {
  CPU_NOTES,
  CRASH_IOMEM,
  crashMachine,
  END,
  kcoreEntries,
  kcoreHeader,
  kcoreOffset,
  KERNEL_CODE,
  PAGE_OFFSET,
  TEXT,
  VMCOREINFO,
} from "../support/crash_machine.ts";

const isKexecError = (pattern: RegExp) => (e: unknown) =>
  e instanceof KexecError && pattern.test(e.message);

Deno.test("parseCpuList: ranges, singles, gaps, empty; garbage refused", () => {
  assert.deepEqual(parseCpuList("0\n"), [0]);
  assert.deepEqual(parseCpuList("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList("\n"), []);
  assert.throws(() => parseCpuList("0-x"), isKexecError(/CPU list/));
  assert.throws(() => parseCpuList("3-1"), isKexecError(/ascending/));
});

Deno.test("crash_notes and crash_notes_size", () => {
  assert.equal(parseCrashNotesAddress("7fc1f458\n"), 0x7fc1f458);
  assert.equal(parseCrashNotesAddress("0x7fc1f458"), 0x7fc1f458);
  assert.throws(() => parseCrashNotesAddress("zz"), isKexecError(/hexadecimal/));
  assert.equal(parseCrashNotesSize("432\n"), 432);
  assert.equal(parseCrashNotesSize(undefined), 1024, "kexec-tools' default when missing");
  assert.throws(() => parseCrashNotesSize("0"), isKexecError(/positive/));
});

Deno.test("vmcoreinfo: old and new formats; malformed refused", () => {
  assert.deepEqual(parseVmcoreinfo("2c4a000 1024\n"), { address: 0x2c4a000, size: 0x1024 });
  assert.deepEqual(parseVmcoreinfo("0x000000013fc4a000 1000\n"), {
    address: 0x13fc4a000,
    size: 0x1000,
  });
  assert.throws(() => parseVmcoreinfo("2c4a000\n"), isKexecError(/<address> <size>/));
  assert.throws(() => parseVmcoreinfo("2c4a000 0\n"), isKexecError(/nonzero/));
});

Deno.test("kallsyms: exact names only, module symbols and look-alikes ignored, zeros hidden", () => {
  const text = "ffffffff9a000000 T _text_start_marker\n" +
    "ffffffff9a000000 T _text\nffffffff9a001000 T _stext\n" +
    "ffffffff9d5c6000 B _end\nffffffffc0a01000 t _end\t[virtio_net]\n" +
    "ffffffff9b81cb60 D __per_cpu_offset\nffffffff9d3d6970 B crash_notes\n" +
    "ffffffff9d3d6978 B crash_notes_memory_init\n";
  assert.deepEqual(parseKallsyms(text), {
    text: 0xffffffff9a000000n,
    stext: 0xffffffff9a001000n,
    end: 0xffffffff9d5c6000n,
    crashNotes: 0xffffffff9d3d6970n,
    perCpuOffset: 0xffffffff9b81cb60n,
  });
  assert.deepEqual(parseKallsyms("0000000000000000 T _text\n0000000000000000 B _end\n"), {
    text: undefined,
    stext: undefined,
    end: undefined,
    crashNotes: undefined,
    perCpuOffset: undefined,
  });
});

Deno.test("kcore: PT_LOADs with and without physical addresses; truncation and junk refused", () => {
  const bytes = kcoreHeader();
  assert.equal(kcoreHeaderLength(bytes), 64 + 56 * (kcoreEntries().length + 1));
  const loads = parseKcoreLoads(bytes);
  assert.equal(loads.length, kcoreEntries().length, "the PT_NOTE is skipped");
  assert.deepEqual(loads[0], {
    vaddr: TEXT,
    paddr: BigInt(KERNEL_CODE),
    memsz: END - TEXT,
    offset: kcoreOffset(TEXT),
  });
  assert.equal(loads[1].paddr, undefined, "modules: p_paddr -1");
  assert.throws(() => parseKcoreLoads(bytes.subarray(0, 200)), isKexecError(/after the bytes/));
  assert.throws(() => parseKcoreLoads(new Uint8Array(64)), isKexecError(/not an ELF/));
});

Deno.test("PAGE_OFFSET: exact from p_paddr, rounded to 1 GiB without it, default without kcore", () => {
  assert.equal(
    pageOffsetFromKcore(parseKcoreLoads(kcoreHeader()), X86_64_KERNEL_LAYOUT).value,
    PAGE_OFFSET,
  );
  const noPaddr = kcoreEntries().map((e) => ({ ...e, paddr: undefined }));
  const rounded = pageOffsetFromKcore(noPaddr, X86_64_KERNEL_LAYOUT);
  assert.equal(rounded.value, PAGE_OFFSET);
  assert.match(rounded.note, /rounded down to 1 GiB/);
  const fallback = pageOffsetFromKcore(undefined, X86_64_KERNEL_LAYOUT);
  assert.equal(fallback.value, 0xffff888000000000n);
  assert.match(fallback.note, /default/);
});

Deno.test("kernel text: kallsyms + Kernel code, else kcore, else left out with a reason", () => {
  const iomem = parseIomem(CRASH_IOMEM);
  const loads = parseKcoreLoads(kcoreHeader());
  const fromSymbols = kernelTextMapping({ symbols: { text: TEXT, end: END }, iomem }, TEXT_AREA);
  assert.deepEqual(fromSymbols.value, {
    vaddr: TEXT,
    paddr: KERNEL_CODE,
    size: Number(END - TEXT),
  });
  assert.match(fromSymbols.note, /kallsyms/);

  const fromKcore = kernelTextMapping({ kcoreLoads: loads, iomem }, TEXT_AREA);
  assert.deepEqual(fromKcore.value, { vaddr: TEXT, paddr: KERNEL_CODE, size: Number(END - TEXT) });
  assert.match(fromKcore.note, /kcore/);

  // kcore without p_paddr: the physical address comes from "Kernel code".
  const noPaddr = loads.map((l) => ({ ...l, paddr: undefined }));
  assert.equal(
    kernelTextMapping({ kcoreLoads: noPaddr, iomem }, TEXT_AREA).value?.paddr,
    KERNEL_CODE,
  );

  const none = kernelTextMapping(
    { iomem: parseIomem("00100000-7fffffff : System RAM\n") },
    TEXT_AREA,
  );
  assert.equal(none.value, undefined);
  assert.match(none.note, /left out/);
});

Deno.test("readCrashSources: everything from a healthy machine", () => {
  const s = readCrashSources(crashMachine());
  assert.deepEqual(s.cpuNotes, CPU_NOTES);
  assert.deepEqual(s.vmcoreinfo, VMCOREINFO);
  assert.equal(s.symbols?.text, TEXT);
  assert.equal(s.kcoreLoads?.length, kcoreEntries().length);
  assert.deepEqual(s.notes, []);
});

Deno.test("readCrashSources: missing optional files become notes, not errors", () => {
  const s = readCrashSources(crashMachine({
    [PATHS.vmcoreinfo]: undefined,
    [PATHS.kallsyms]: "0000000000000000 T _text\n0000000000000000 B _end\n",
    [PATHS.kcore]: undefined,
    "/sys/devices/system/cpu/cpu1/crash_notes": undefined,
    "/sys/devices/system/cpu/cpu0/crash_notes_size": undefined,
  }));
  assert.deepEqual(s.cpuNotes, [{ cpu: 0, address: CPU_NOTES[0].address, size: 1024 }]);
  assert.equal(s.vmcoreinfo, undefined);
  assert.equal(s.symbols, undefined);
  assert.equal(s.kcoreLoads, undefined);
  const notes = s.notes.join("\n");
  assert.match(notes, /no crash_notes for CPU 1/);
  assert.match(notes, /vmcoreinfo is missing/);
  assert.match(notes, /kptr_restrict/);
  assert.match(notes, /kcore is unreadable/);
});

Deno.test("readCrashSources: a kcore header longer than the first read is read again", () => {
  const many = Array.from({ length: 1300 }, (_, i) => ({
    vaddr: PAGE_OFFSET + BigInt(i) * 0x100000n,
    paddr: BigInt(i) * 0x100000n,
    memsz: 0x1000n,
  }));
  const s = readCrashSources(crashMachine({ [PATHS.kcore]: kcoreHeader(many) }));
  assert.equal(s.kcoreLoads?.length, 1300);
});

Deno.test("readCrashSources: no possible file → the cpuN directories; no iomem → error", () => {
  const s = readCrashSources(crashMachine({
    [PATHS.cpuPossible]: undefined,
    "/sys/devices/system/cpu": { dir: ["cpu0", "cpu1", "cpufreq", "possible"] },
  }));
  assert.deepEqual(s.cpuNotes.map((n) => n.cpu), [0, 1]);
  assert.throws(
    () => readCrashSources(crashMachine({ [PATHS.procIomem]: undefined })),
    isKexecError(/cannot read \/proc\/iomem/),
  );
});

/** The per-CPU layout of the fake kernel: `crash_notes` and `__per_cpu_offset` in its data. */
const CRASH_NOTES_VAR = TEXT + 0x33d6970n;
const PER_CPU_OFFSET_VAR = TEXT + 0x181cb60n;
const CRASH_NOTES_POINTER = 0x1f458n;
/** __per_cpu_offset[cpu]: four units 256 KiB apart in the direct map. */
const perCpuOffset = (cpu: number) => PAGE_OFFSET + 0x7fc00000n + BigInt(cpu) * 0x40000n;

/** The crash machine with possible CPUs 0-3 (cpu2 and cpu3 have no sysfs directory) and kernel memory in /proc/kcore. */
function hotplugMachine(extra: Record<string, string | undefined> = {}, offsets = perCpuOffset) {
  const memory = new Map<bigint, Uint8Array>();
  const u64s = (values: bigint[]) => {
    const b = new Uint8Array(8 * values.length);
    values.forEach((v, i) => new DataView(b.buffer).setBigUint64(8 * i, v, true));
    return b;
  };
  memory.set(kcoreOffset(CRASH_NOTES_VAR), u64s([CRASH_NOTES_POINTER]));
  memory.set(kcoreOffset(PER_CPU_OFFSET_VAR), u64s([0, 1, 2, 3].map(offsets)));
  const sys = crashMachine({
    [PATHS.cpuPossible]: "0-3\n",
    [PATHS.kallsyms]: `${TEXT.toString(16)} T _text\n${END.toString(16)} B _end\n` +
      `${PER_CPU_OFFSET_VAR.toString(16)} D __per_cpu_offset\n` +
      `${CRASH_NOTES_VAR.toString(16)} B crash_notes\n`,
    ...extra,
  });
  const header = sys.readBytes.bind(sys);
  sys.readBytes = (path: string, max: number, offset: number | bigint = 0) =>
    path === PATHS.kcore && offset
      ? memory.get(BigInt(offset))?.subarray(0, max)
      : header(path, max, offset);
  return sys;
}

Deno.test("crash notes: possible CPUs without a cpuN directory, from crash_notes + __per_cpu_offset", () => {
  const s = readCrashSources(hotplugMachine());
  assert.deepEqual(s.cpuNotes, [
    ...CPU_NOTES,
    { cpu: 2, address: 0x7fc9f458, size: 432 },
    { cpu: 3, address: 0x7fcdf458, size: 432 },
  ]);
  assert.match(s.notes.join("\n"), /crash notes of CPU 2, 3 \(possible, no sysfs directory\)/);
  assert.doesNotMatch(s.notes.join("\n"), /no crash_notes for CPU/);
});

Deno.test("crash notes: a derivation that does not reproduce sysfs is not used", () => {
  const wrong = (cpu: number) => perCpuOffset(cpu) + (cpu === 1 ? 0x1000n : 0n);
  const s = readCrashSources(hotplugMachine({}, wrong));
  assert.deepEqual(s.cpuNotes, CPU_NOTES);
  const notes = s.notes.join("\n");
  assert.match(notes, /__per_cpu_offset\[1\] gives 0x7fc60458, sysfs 0x7fc5f458: not used/);
  assert.match(notes, /no crash_notes for CPU 2, 3/);
  const hidden = readCrashSources(
    hotplugMachine({
      [PATHS.kallsyms]: `${TEXT.toString(16)} T _text\n${END.toString(16)} B _end\n`,
    }),
  );
  assert.deepEqual(hidden.cpuNotes, CPU_NOTES);
  assert.match(hidden.notes.join("\n"), /no crash_notes and __per_cpu_offset in \/proc\/kallsyms/);
});
