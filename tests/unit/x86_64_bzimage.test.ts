import { sha256 } from "../../lib/plan/sha256.ts";
import assert from "node:assert/strict";
import { KEXEC_ON_CRASH, KEXEC_SEGMENT_MAX } from "../../lib/abi.ts";
import { KexecError } from "../../lib/errors.ts";
import {
  type BzImagePlanInput,
  planBzImage64,
  RNG_SEED_SIZE,
} from "../../lib/arch/x86_64/bzimage.ts";
import { buildPurgatory, type PurgatoryConfig } from "../../lib/arch/x86_64/purgatory.ts";
import {
  PURGATORY_BOOT_PARAMS_OFFSET,
  PURGATORY_ENTRY64_OFFSET,
  PURGATORY_REGION_COUNT_OFFSET,
} from "../../lib/arch/x86_64/purgatory_blob.ts";
import { parseFirmwareMemmap } from "../../lib/memory/memmap.ts";
import type { MemoryRange } from "../../lib/memory/types.ts";
import type { Segment } from "../../lib/plan/types.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { memmapFixture } from "../fixtures/fixtures.ts";

const MiB = 0x100000;
const qemuMap = parseFirmwareMemmap([...memmapFixture("memmap-qemu-seabios-1g.txt").values()]);
const seed = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);

function initrdOf(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 13) & 0xff);
}

function input(overrides: Partial<BzImagePlanInput> = {}): BzImagePlanInput {
  return {
    kernel: syntheticKernel(),
    kernelPath: "/boot/vmlinuz-test",
    initrd: initrdOf(0x123457),
    cmdline: "console=ttyS0 root=/dev/vda KEXEC=Y",
    memoryMap: qemuMap,
    memoryMapSource: "/sys/firmware/memmap",
    rngSeed: seed,
    verify: sha256,
    pageSize: 4096,
    flags: 0,
    ...overrides,
  };
}

function byName(segments: readonly Segment[], name: string): Segment {
  const s = segments.find((x) => x.name === name);
  assert.ok(s, `no ${name} segment`);
  return s;
}

/** SHA-256 by WebCrypto, independent of the node:crypto the planner uses. */
async function digest(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
}

/** A purgatory config with the optional stack page (passed as a variable, see bzimage.ts). */
function withStack(config: PurgatoryConfig, stackPage: number): PurgatoryConfig {
  const withPage: PurgatoryConfig & { stackPage: number } = { ...config, stackPage };
  return withPage;
}

function errorOf(fn: () => unknown): KexecError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KexecError, `expected a KexecError, got ${e}`);
    return e;
  }
  throw new Error("expected a throw");
}

Deno.test("plan: full plan on a synthetic kernel and the QEMU map, segment by segment", async () => {
  const kernel = syntheticKernel();
  const initrd = initrdOf(0x123457);
  const plan = planBzImage64(input({ kernel, initrd }));

  assert.equal(plan.syscall, "kexec_load");
  assert.equal(plan.flags, 0x003e0000);
  assert.equal(plan.cmdline, "console=ttyS0 root=/dev/vda KEXEC=Y");
  assert.deepEqual(plan.segments.map((s) => s.name), [
    "kernel",
    "purgatory",
    "boot_params",
    "initrd",
  ]);

  // Kernel: at pref_address, memsz = page-rounded init_size, the file's PM part as a view.
  const k = byName(plan.segments, "kernel");
  assert.equal(k.mem, 0x1000000);
  assert.equal(k.memsz, 0x3f98000);
  assert.equal(k.buf.length, 0x5000);
  assert.equal(k.buf.buffer, kernel.buffer, "kernel bytes are viewed, not copied");
  assert.equal(k.buf.byteOffset, 4 * 512);

  // Initrd: top-down, highest pages of RAM below 0x3ffe0000 (the top of RAM).
  const i = byName(plan.segments, "initrd");
  assert.equal(i.buf, initrd);
  assert.equal(i.memsz, 0x124000);
  assert.equal(i.mem, 0x3ffe0000 - 0x124000);

  // boot_params: 4096 + 36 bytes of command line, setup_data at 0x1030 (16+32 bytes).
  const p = byName(plan.segments, "boot_params");
  assert.equal(p.buf.length, 0x1060);
  // Two pages of boot_params, command line and setup_data, one page of purgatory stack.
  assert.equal(p.memsz, 0x3000);
  assert.equal(p.mem, i.mem - 0x3000);
  const pv = new DataView(p.buf.buffer, p.buf.byteOffset, p.buf.byteLength);
  assert.equal(p.buf[0x1ef], 0, "sentinel");
  assert.equal(p.buf[0x210], 0xd0, "type_of_loader");
  assert.equal(pv.getUint32(0x228, true), p.mem + 0x1000, "cmd_line_ptr");
  assert.equal(pv.getUint32(0x0c8, true), 0, "ext_cmd_line_ptr");
  assert.equal(
    new TextDecoder().decode(p.buf.subarray(0x1000, 0x1000 + 35)),
    "console=ttyS0 root=/dev/vda KEXEC=Y",
  );
  assert.equal(p.buf[0x1000 + 35], 0, "NUL");
  assert.equal(pv.getUint32(0x218, true), i.mem, "ramdisk_image");
  assert.equal(pv.getUint32(0x21c, true), 0x123457, "ramdisk_size (exact)");
  assert.equal(pv.getBigUint64(0x250, true), BigInt(p.mem + 0x1030), "setup_data head");
  assert.equal(pv.getBigUint64(0x1030, true), 0n, "single node");
  assert.equal(pv.getUint32(0x1038, true), 9, "SETUP_RNG_SEED");
  assert.equal(pv.getUint32(0x103c, true), 32);
  assert.deepEqual([...p.buf.subarray(0x1040, 0x1060)], [...seed]);
  assert.equal(p.buf[0x1e8], 7, "e820_entries");
  const e820 = qemuMap.map((_, n) => [
    Number(pv.getBigUint64(0x2d0 + 20 * n, true)),
    Number(pv.getBigUint64(0x2d0 + 20 * n + 8, true)),
    pv.getUint32(0x2d0 + 20 * n + 16, true),
  ]);
  assert.deepEqual(e820, [
    [0, 0x9fc00, 1],
    [0x9fc00, 0x400, 2],
    [0xf0000, 0x10000, 2],
    [0x100000, 0x3fee0000, 1],
    [0x3ffe0000, 0x20000, 2],
    [0xfeffc000, 0x4000, 2],
    [0xfffc0000, 0x40000, 2],
  ]);
  assert.deepEqual([...p.buf.subarray(0x1f1, 0x26c)].slice(0, 0x1f), [
    ...kernel.subarray(0x1f1, 0x210),
  ]);

  // Purgatory: the entry; the page the purgatory module builds from the expected config.
  const g = byName(plan.segments, "purgatory");
  assert.equal(plan.entry, g.mem);
  assert.equal(g.mem, p.mem - 0x1000);
  assert.equal(g.memsz, 0x1000);
  const expected = buildPurgatory(withStack({
    entry64: 0x1000200,
    bootParams: p.mem,
    verify: [
      { mem: k.mem, len: 0x5000, sha256: await digest(kernel.subarray(0x800)) },
      { mem: i.mem, len: 0x123457, sha256: await digest(initrd) },
      { mem: p.mem, len: 0x1060, sha256: await digest(p.buf) },
    ],
  }, p.mem + 0x2000));
  assert.deepEqual(g.buf, expected);
  const gv = new DataView(g.buf.buffer, g.buf.byteOffset);
  assert.equal(gv.getBigUint64(PURGATORY_ENTRY64_OFFSET, true), 0x1000200n);
  assert.equal(gv.getBigUint64(PURGATORY_BOOT_PARAMS_OFFSET, true), BigInt(p.mem));
  assert.equal(gv.getBigUint64(PURGATORY_REGION_COUNT_OFFSET, true), 3n);

  // Notes: source, map, each placement and the table.
  const notes = plan.notes.join("\n");
  assert.match(notes, /memory map from \/sys\/firmware\/memmap \(7 ranges/);
  assert.match(notes, /0x0000000000100000-0x000000003ffdffff ram/);
  assert.match(notes, /^kernel: 0x1000000, .*pref_address 0x1000000/m);
  assert.match(notes, /^initrd: 0x3febc000, 1193047 bytes/m);
  assert.match(notes, /^boot_params: 0x3feb9000; command line \(35 bytes\) at 0x3feba000/m);
  assert.match(
    notes,
    /^purgatory: 0x3feb8000 \(entry\); checks SHA-256 of 3 segments before jumping, stack page 0x3febb000/m,
  );
  assert.match(notes, /^\s+3\s+initrd\s+0x3febc000\s+0x124000\s+0x123457$/m);
});

Deno.test("plan: segments are page-aligned, non-overlapping, in RAM, at or above 1 MiB", () => {
  const plan = planBzImage64(input());
  const ram = qemuMap.filter((r) => r.kind === "ram");
  for (const s of plan.segments) {
    assert.equal(s.mem % 4096, 0);
    assert.equal(s.memsz % 4096, 0);
    assert.ok(s.buf.length <= s.memsz);
    assert.ok(s.mem >= MiB);
    assert.ok(ram.some((r) => r.start <= s.mem && s.mem + s.memsz <= r.end), s.name);
    for (const t of plan.segments) {
      if (s !== t) assert.ok(s.mem + s.memsz <= t.mem || t.mem + t.memsz <= s.mem);
    }
  }
});

Deno.test("plan: -i leaves the digest table empty; crash flag kept, arch ORed in", () => {
  const plan = planBzImage64(input({ verify: undefined, flags: KEXEC_ON_CRASH }));
  const g = byName(plan.segments, "purgatory");
  const p = byName(plan.segments, "boot_params");
  assert.deepEqual(g.buf, buildPurgatory({ entry64: 0x1000200, bootParams: p.mem, verify: [] }));
  assert.equal(p.memsz, 0x2000, "no stack page without digests");
  assert.equal(plan.flags, 0x003e0001);
  assert.match(plan.notes.join("\n"), /no digest check \(-i\)/);
  assert.throws(() => planBzImage64(input({ flags: 0x00b70000 })), RangeError);
  assert.equal(planBzImage64(input({ flags: 0x003e0000 })).flags, 0x003e0000);
});

Deno.test("plan: no initrd (or an empty one) means zero ramdisk fields and no segment", () => {
  for (const initrd of [null, new Uint8Array(0)]) {
    const plan = planBzImage64(input({ initrd }));
    assert.deepEqual(plan.segments.map((s) => s.name).sort(), [
      "boot_params",
      "kernel",
      "purgatory",
    ]);
    const p = byName(plan.segments, "boot_params");
    const v = new DataView(p.buf.buffer, p.buf.byteOffset);
    assert.equal(v.getUint32(0x218, true), 0);
    assert.equal(v.getUint32(0x21c, true), 0);
  }
});

Deno.test("plan: more than 128 e820 entries go into a SETUP_E820_EXT node", () => {
  // 150 small RAM/reserved pairs below 1 MiB's worth of pages plus one big RAM range.
  const map: MemoryRange[] = [];
  for (let n = 0; n < 75; n++) {
    map.push({ start: 0x2000000 + n * 0x2000, end: 0x2000000 + n * 0x2000 + 0x1000, kind: "ram" });
    map.push({
      start: 0x2000000 + n * 0x2000 + 0x1000,
      end: 0x2000000 + (n + 1) * 0x2000,
      kind: "reserved",
    });
  }
  map.push({ start: 0x4000000, end: 0x40000000, kind: "ram" });
  const plan = planBzImage64(
    input({ memoryMap: map, kernel: syntheticKernel({ prefAddress: 0x4000000 }) }),
  );
  const p = byName(plan.segments, "boot_params");
  const v = new DataView(p.buf.buffer, p.buf.byteOffset, p.buf.byteLength);
  assert.equal(p.buf[0x1e8], 128);
  // The last zero-page entry is map[127]; the extension holds map[128..150].
  assert.equal(Number(v.getBigUint64(0x2d0 + 127 * 20, true)), map[127].start);
  const head = Number(v.getBigUint64(0x250, true)) - p.mem;
  assert.equal(v.getUint32(head + 8, true), 9);
  const ext = Number(v.getBigUint64(head, true)) - p.mem;
  assert.equal(v.getUint32(ext + 8, true), 1, "SETUP_E820_EXT");
  assert.equal(v.getUint32(ext + 12, true), 23 * 20);
  assert.equal(v.getBigUint64(ext, true), 0n);
  for (let n = 0; n < 23; n++) {
    const at = ext + 16 + n * 20;
    const r = map[128 + n];
    assert.equal(Number(v.getBigUint64(at, true)), r.start);
    assert.equal(Number(v.getBigUint64(at + 8, true)), r.end - r.start);
    assert.equal(v.getUint32(at + 16, true), r.kind === "ram" ? 1 : 2);
  }
  assert.equal(ext + 16 + 23 * 20, p.buf.length);
  assert.match(plan.notes.join("\n"), /128 entries in boot_params, 23 in SETUP_E820_EXT/);
});

Deno.test("plan: command line over cmdline_size − 1 is refused with both lengths", () => {
  const e = errorOf(() => planBzImage64(input({ cmdline: "x".repeat(2047) })));
  assert.equal(
    e.message,
    "command line is 2047 bytes; kernel /boot/vmlinuz-test accepts at most 2046 " +
      "(cmdline_size 2047 minus the terminating NUL)",
  );
  assert.equal(planBzImage64(input({ cmdline: "x".repeat(2046) })).cmdline.length, 2046);
  const small = syntheticKernel({ cmdlineSize: 255 });
  assert.throws(
    () => planBzImage64(input({ kernel: small, cmdline: "y".repeat(255) })),
    /at most 254/,
  );
});

Deno.test("plan: an initrd that cannot fit names its size, initrd_addr_max and --mem-max", () => {
  const e = errorOf(() =>
    planBzImage64(input({ initrd: new Uint8Array(104857600), memMax: 0x4ffffff }))
  );
  assert.match(e.message, /^initrd \(104857600 bytes\) does not fit in RAM /);
  assert.match(e.message, /0x80000000 \(initrd_addr_max 0x7fffffff\)/);
  assert.match(e.message, /0x5000000 \(--mem-max=0x4ffffff\)/);
  assert.match(e.message, /already used: kernel 0x1000000-0x4f97fff/);
  // initrd_addr_max itself binds too.
  const low = syntheticKernel({ initrdAddrMax: 0x37ffffff });
  const plan = planBzImage64(input({ kernel: low }));
  const i = byName(plan.segments, "initrd");
  assert.equal(i.mem + i.memsz, 0x38000000);
});

Deno.test("plan: --mem-min/--mem-max bound every segment", () => {
  const plan = planBzImage64(input({ memMin: 0x8000000, memMax: 0x10ffffff }));
  for (const s of plan.segments) {
    assert.ok(s.mem >= 0x8000000 && s.mem + s.memsz <= 0x11000000, s.name);
  }
  assert.equal(byName(plan.segments, "kernel").mem, 0x8000000);
});

Deno.test("plan: kernel placement honours pref_address, alignment and relocatability", () => {
  // RAM hole at pref_address: the lowest aligned address above it.
  const holed: MemoryRange[] = [
    { start: MiB, end: 0x1100000, kind: "ram" },
    { start: 0x1100000, end: 0x2100000, kind: "reserved" },
    { start: 0x2100000, end: 0x40000000, kind: "ram" },
  ];
  assert.equal(
    byName(planBzImage64(input({ memoryMap: holed })).segments, "kernel").mem,
    0x2200000,
  );
  // Not relocatable: exactly pref_address, or an error saying so.
  const fixed = syntheticKernel({ relocatable: 0, prefAddress: 0x1000000 });
  assert.equal(byName(planBzImage64(input({ kernel: fixed })).segments, "kernel").mem, 0x1000000);
  const e = errorOf(() => planBzImage64(input({ kernel: fixed, memoryMap: holed })));
  assert.match(e.message, /^kernel \(66682880 bytes\) does not fit/);
  assert.match(e.message, /pref_address: the kernel is not relocatable/);
  // memsz covers the PM part when it is larger than init_size.
  const fat = syntheticKernel({ pmSize: 0x30000, initSize: 0x10000 });
  const k = byName(planBzImage64(input({ kernel: fat })).segments, "kernel");
  assert.equal(k.memsz, 0x30000);
});

Deno.test("plan: above 4 GiB only with XLF_CAN_BE_LOADED_ABOVE_4G", () => {
  const high: MemoryRange[] = [
    { start: MiB, end: 0x2000000, kind: "ram" },
    { start: 0x100000000, end: 0x200000000, kind: "ram" },
  ];
  const capable = planBzImage64(input({ memoryMap: high, initrd: null }));
  assert.equal(byName(capable.segments, "kernel").mem, 0x100000000);
  assert.ok(byName(capable.segments, "boot_params").mem < 0x100000000);
  const e = errorOf(() =>
    planBzImage64(
      input({ memoryMap: high, initrd: null, kernel: syntheticKernel({ xloadflags: 0x01 }) }),
    )
  );
  assert.match(e.message, /4 GiB: the kernel lacks XLF_CAN_BE_LOADED_ABOVE_4G/);
});

Deno.test("plan: 5-level paging needs XLF_5LEVEL", () => {
  const e = errorOf(() =>
    planBzImage64(input({ fiveLevelPaging: true, kernel: syntheticKernel({ xloadflags: 0x1f }) }))
  );
  assert.match(e.message, /cannot start under 5-level paging/);
  assert.ok(planBzImage64(input({ fiveLevelPaging: true })).segments.length > 0);
});

Deno.test("plan: segments above half of RAM are refused for normal loads, not crash loads", () => {
  const small: MemoryRange[] = [{ start: MiB, end: 0x9000000, kind: "ram" }]; // 143 MiB
  const e = errorOf(() =>
    planBzImage64(input({ memoryMap: small, initrd: new Uint8Array(0x900000) }))
  );
  assert.match(e.message, /more than half of the 149946368 bytes of RAM/);
  assert.ok(
    planBzImage64(
      input({ memoryMap: small, initrd: new Uint8Array(0x900000), flags: KEXEC_ON_CRASH }),
    ),
  );
});

Deno.test("plan: a crash-style hook places elfcorehdr inside placeable and rewrites cmdline and e820", async () => {
  const crashRegion: MemoryRange = { start: 0x35000000, end: 0x3d000000, kind: "ram" };
  const header = Uint8Array.from({ length: 0x2345 }, (_, n) => n & 0xff);
  const seen: Segment[] = [];
  const plan = planBzImage64(input({
    placeable: [crashRegion],
    flags: KEXEC_ON_CRASH,
    extraSegments: (place) => {
      const s = place({ name: "elfcorehdr", buf: header, memsz: 0x10000 });
      seen.push(s);
      return {
        cmdline: `elfcorehdr=0x${s.mem.toString(16)} console=ttyS0`,
        memoryMap: [
          { start: 0, end: 0x9fc00, kind: "ram" },
          { start: crashRegion.start, end: s.mem, kind: "ram" },
        ],
        notes: ["crash: test hook"],
      };
    },
  }));
  const elf = byName(plan.segments, "elfcorehdr");
  assert.equal(elf, seen[0]);
  assert.equal(elf.mem, 0x3cff0000);
  assert.equal(elf.memsz, 0x10000);
  assert.equal(plan.cmdline, "elfcorehdr=0x3cff0000 console=ttyS0");
  for (const s of plan.segments) {
    assert.ok(s.mem >= crashRegion.start && s.mem + s.memsz <= crashRegion.end, s.name);
  }
  assert.ok(plan.entry >= crashRegion.start && plan.entry < crashRegion.end);
  assert.equal(byName(plan.segments, "kernel").mem, 0x35000000);
  const p = byName(plan.segments, "boot_params");
  const v = new DataView(p.buf.buffer, p.buf.byteOffset, p.buf.byteLength);
  assert.equal(p.buf[0x1e8], 2);
  assert.equal(Number(v.getBigUint64(0x2d0 + 20 + 8, true)), 0x3cff0000 - 0x35000000);
  assert.equal(
    new TextDecoder().decode(p.buf.subarray(0x1000, 0x1000 + plan.cmdline.length)),
    plan.cmdline,
  );
  assert.match(plan.notes.join("\n"), /crash: test hook/);
  assert.match(
    plan.notes.join("\n"),
    /segments restricted to:\n\s+0x0000000035000000-0x000000003cffffff ram/,
  );
  // The elfcorehdr is verified unless marked otherwise.
  const g = byName(plan.segments, "purgatory");
  const regionCount = new DataView(g.buf.buffer, g.buf.byteOffset).getBigUint64(
    PURGATORY_REGION_COUNT_OFFSET,
    true,
  );
  assert.equal(regionCount, 4n);
  const unverified = planBzImage64(input({
    placeable: [crashRegion],
    flags: KEXEC_ON_CRASH,
    extraSegments: (place) => {
      place({ name: "elfcorehdr", buf: header, unverified: true });
    },
  }));
  const ug = byName(unverified.segments, "purgatory");
  const ue = byName(unverified.segments, "elfcorehdr");
  assert.equal(ue.memsz, 0x3000);
  const k = byName(unverified.segments, "kernel");
  const i = byName(unverified.segments, "initrd");
  const up = byName(unverified.segments, "boot_params");
  assert.deepEqual(
    ug.buf,
    buildPurgatory(withStack({
      entry64: k.mem + 0x200,
      bootParams: up.mem,
      verify: [
        { mem: k.mem, len: k.buf.length, sha256: await digest(k.buf) },
        { mem: i.mem, len: i.buf.length, sha256: await digest(i.buf) },
        { mem: up.mem, len: up.buf.length, sha256: await digest(up.buf) },
      ],
    }, up.mem + up.memsz - 0x1000)),
  );
});

Deno.test("plan: the 16-segment limit names the segment that does not fit", () => {
  const e = errorOf(() =>
    planBzImage64(input({
      extraSegments: (place) => {
        for (let n = 0; n < KEXEC_SEGMENT_MAX - 3; n++) {
          place({ name: `extra${n}`, buf: new Uint8Array(1) });
        }
      },
    }))
  );
  assert.equal(e.message, "purgatory would be segment 17, but kexec_load accepts at most 16");
  const ok = planBzImage64(input({
    extraSegments: (place) => {
      for (let n = 0; n < KEXEC_SEGMENT_MAX - 4; n++) {
        place({ name: `extra${n}`, buf: new Uint8Array(1) });
      }
    },
  }));
  assert.equal(ok.segments.length, 16);
});

Deno.test("plan: invalid kernels and seeds are refused before anything is placed", () => {
  assert.throws(
    () => planBzImage64(input({ kernel: syntheticKernel({ version: 0x020b }) })),
    /2\.11 is too old/,
  );
  assert.throws(() => planBzImage64(input({ rngSeed: new Uint8Array(16) })), RangeError);
  assert.equal(RNG_SEED_SIZE, 32);
});

Deno.test("plan: a crash region above 4 GiB takes initrd, boot_params and purgatory above it", () => {
  const map: MemoryRange[] = [
    { start: MiB, end: 0x80000000, kind: "ram" },
    { start: 0x100000000, end: 0x180000000, kind: "ram" },
  ];
  const region: MemoryRange = { start: 0x170000000, end: 0x180000000, kind: "ram" };
  const plan = planBzImage64(
    input({ memoryMap: map, placeable: [region], flags: KEXEC_ON_CRASH }),
  );
  for (const s of plan.segments) {
    assert.ok(s.mem >= region.start && s.mem + s.memsz <= region.end, s.name);
  }
  assert.ok(plan.notes.some((n) => /initrd: no room below initrd_addr_max/.test(n)));
  // Without XLF_CAN_BE_LOADED_ABOVE_4G the same request is refused with the bound named.
  const e = errorOf(() =>
    planBzImage64(
      input({
        memoryMap: map,
        placeable: [region],
        flags: KEXEC_ON_CRASH,
        kernel: syntheticKernel({ xloadflags: 0x01 }),
      }),
    )
  );
  assert.match(e.message, /does not fit/);
});
