// lib/fdt/chosen.ts: the /chosen and /memreserve/ edits of a kexec, checked by
// decompiling the written blob with Debian's dtc and asserting on every line.
import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import {
  editChosenForKexec,
  KEXEC_FDT_FREE_SPACE,
  type KexecChosenInput,
  kexecFdtBlob,
} from "../../lib/fdt/chosen.ts";
import { parseFdt, serializeFdt } from "../../lib/fdt/fdt.ts";
import { dtc, dts, dtsNode, qemuVirtDtb } from "../fixtures/fdt.ts";

const MiB = 1024 * 1024;
const u32At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off);

const KASLR = new Uint8Array([0x01, 0x02, 0x03, 0x04, 0xf5, 0xf6, 0xf7, 0xf8]);
const RNG = new Uint8Array(128).map((_, i) => (i * 37 + 11) & 0xff);
const cmdline = (text: string) => new TextEncoder().encode(`${text}\0`);

/** Bytes as dtc prints a property whose length is a multiple of 4. */
function cells(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = Array.from(
    { length: bytes.length / 4 },
    (_, i) => `0x${view.getUint32(i * 4).toString(16).padStart(2, "0")}`,
  );
  return `<${words.join(" ")}>`;
}

/** The /memreserve/ lines of a dtc listing as "0xaddress 0xsize". */
function reservedIn(listing: string): string[] {
  return [...listing.matchAll(/^\/memreserve\/\s+(0x[0-9a-f]+) (0x[0-9a-f]+);/gm)]
    .map(([, a, s]) => `0x${BigInt(a).toString(16)} 0x${BigInt(s).toString(16)}`);
}

const BASE: KexecChosenInput = {
  cmdline: cmdline("console=ttyAMA0 root=/dev/vda"),
  initrd: { start: 0x48000000, size: 0x123456 },
  kaslrSeed: KASLR,
  rngSeed: RNG,
};

async function chosenAfter(source: Uint8Array, input: KexecChosenInput) {
  const { fdt, notes } = editChosenForKexec(parseFdt(source, "source"), input);
  const { blob, notes: size } = kexecFdtBlob(fdt, 2 * MiB);
  const listing = await dts(blob);
  return { blob, notes, size, listing, chosen: dtsNode(listing, "chosen") };
}

Deno.test("QEMU's virt device tree: /chosen for a normal load, grown in place", async () => {
  const source = await qemuVirtDtb();
  const { blob, notes, size, chosen, listing } = await chosenAfter(source, BASE);
  assert.deepEqual(chosen, [
    'stdout-path = "/pl011@9000000";',
    `rng-seed = ${cells(RNG)};`,
    "linux,initrd-start = <0x00 0x48000000>;",
    "linux,initrd-end = <0x00 0x48123456>;",
    'bootargs = "console=ttyAMA0 root=/dev/vda";',
    "kaslr-seed = <0x1020304 0xf5f6f7f8>;",
    "linux,booted-from-kexec;",
  ]);
  assert.deepEqual(notes, [
    "/chosen/linux,initrd-start, linux,initrd-end: 0x48000000, 0x48123456 (0x123456 bytes)",
    '/chosen/bootargs: "console=ttyAMA0 root=/dev/vda"',
    "/chosen/kaslr-seed: 8 fresh bytes (replaced)",
    "/chosen/rng-seed: 128 fresh bytes (replaced)",
    "/chosen/linux,booted-from-kexec: set",
  ]);
  // Everything else is as QEMU wrote it.
  const rest = (text: string) => text.replace(/\tchosen \{[^}]*\};\n/, "");
  assert.equal(rest(listing), rest(await dts(source)));
  // In place: the blocks stay where they were; 4 KiB to spare instead of QEMU's 1 MiB.
  assert.equal(u32At(blob, 0x10), u32At(source, 0x10));
  assert.equal(u32At(blob, 0x08), u32At(source, 0x08));
  const used = u32At(blob, 0x0c) + u32At(blob, 0x20);
  assert.equal(blob.length, used + KEXEC_FDT_FREE_SPACE);
  assert.ok(blob.subarray(used).every((b) => b === 0));
  assert.deepEqual(size, [
    `device tree: ${used + 4096} bytes (${used} used, 4096 free, at most ${2 * MiB})`,
  ]);
});

Deno.test("a device tree that does not fit the limit is refused", async () => {
  const { fdt } = editChosenForKexec(parseFdt(await qemuVirtDtb()), BASE);
  const used = kexecFdtBlob(fdt, 2 * MiB).blob.length - KEXEC_FDT_FREE_SPACE;
  assert.equal(kexecFdtBlob(fdt, used + KEXEC_FDT_FREE_SPACE).blob.length, used + 4096);
  assert.throws(() => kexecFdtBlob(fdt, used + 100), (e) => {
    assert.ok(e instanceof KexecError);
    assert.match(e.message, /exceed the limit of/);
    assert.match(e.hint!, /too large/);
    return true;
  });
});

const STALE = `/dts-v1/;
/memreserve/ 0x60000000 0x2000;
/memreserve/ 0x48000000 0xa3d000;
/memreserve/ 0x50000000 0x1000;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	chosen {
		bootargs = "old command line";
		stdout-path = "/pl011@9000000";
		linux,uefi-system-table = <0x0 0xbfe00018>;
		linux,uefi-mmap-start = <0x0 0xbe000000>;
		linux,initrd-start = <0x48000000>;
		linux,initrd-end = <0x48a3c123>;
		linux,elfcorehdr = <0x0 0x7f000000 0x0 0x10000>;
		linux,usable-memory-range = <0x0 0x70000000 0x0 0x10000000>;
		linux,ima-kexec-buffer = <0x0 0x50000000 0x0 0x1000>;
		linux,kho-fdt = <0x0 0x51000000 0x0 0x1000>;
		linux,kho-scratch = <0x0 0x52000000 0x0 0x100000>;
		kaslr-seed = <0x0 0x0>;
	};
};
`;

Deno.test("stale properties and reservations are removed; firmware's are kept", async () => {
  const source = await dtc(STALE);
  const input = { ...BASE, cmdline: undefined, initrd: null };
  const { notes, chosen, listing } = await chosenAfter(source, input);
  assert.deepEqual(chosen, [
    'stdout-path = "/pl011@9000000";',
    "linux,uefi-system-table = <0x00 0xbfe00018>;",
    "linux,uefi-mmap-start = <0x00 0xbe000000>;",
    "kaslr-seed = <0x1020304 0xf5f6f7f8>;",
    `rng-seed = ${cells(RNG)};`,
    "linux,booted-from-kexec;",
  ]);
  assert.deepEqual(reservedIn(listing), ["0x60000000 0x2000"]);
  assert.deepEqual(notes, [
    "/chosen/linux,elfcorehdr: removed (stale: from a crash load)",
    "/chosen/linux,usable-memory-range: removed (stale: from a crash load)",
    "/memreserve/ 0x48000000 0xa3d000: removed (the old initrd's)",
    "/chosen/linux,initrd-start: removed (no initrd)",
    "/chosen/linux,initrd-end: removed (no initrd)",
    "/chosen/linux,kho-fdt: removed (stale: the old kernel's handover data)",
    "/chosen/linux,kho-scratch: removed (stale: the old kernel's handover data)",
    "/chosen/bootargs: removed (no command line given)",
    "/chosen/kaslr-seed: 8 fresh bytes (replaced)",
    "/chosen/rng-seed: 128 fresh bytes",
    "/chosen/linux,booted-from-kexec: set",
    "/chosen/linux,ima-kexec-buffer: removed with /memreserve/ 0x50000000 0x1000 (the old kernel's IMA log)",
  ]);
});

Deno.test("the old initrd's reservation: exact size first, a page-rounded one otherwise, never another", async () => {
  const reserved = async (entries: string, start: string, end: string) => {
    const source = STALE.replace(/\/memreserve\/[^\n]*\n/g, "").replace("/ {", `${entries}\n/ {`)
      .replace("<0x48000000>", start).replace("<0x48a3c123>", end);
    const { listing } = await chosenAfter(await dtc(source), BASE);
    return reservedIn(listing);
  };
  assert.deepEqual(
    await reserved(
      "/memreserve/ 0x48000000 0xa40000;\n/memreserve/ 0x48000000 0xa3c123;",
      "<0x48000000>",
      "<0x48a3c123>",
    ),
    ["0x48000000 0xa40000"],
  );
  assert.deepEqual(
    await reserved("/memreserve/ 0x48000000 0xa40000;", "<0x0 0x48000000>", "<0x0 0x48a3c123>"),
    [],
  );
  assert.deepEqual(
    await reserved(
      "/memreserve/ 0x48000000 0xa50000;\n/memreserve/ 0x48001000 0xa3c123;",
      "<0x48000000>",
      "<0x48a3c123>",
    ),
    ["0x48000000 0xa50000", "0x48001000 0xa3c123"],
  );
});

Deno.test("crash loads: linux,elfcorehdr and linux,usable-memory-range in the root's cells", async () => {
  const crash = {
    elfcorehdr: { start: 0xbf000000, size: 0x10000 },
    usableMemory: [{ start: 0xa0000000, size: 0x20000000 }, { start: 0x0c000000, size: 0x4000000 }],
  };
  const two = await chosenAfter(await dtc(STALE), { ...BASE, crash });
  assert.ok(two.chosen.includes("linux,elfcorehdr = <0x00 0xbf000000 0x00 0x10000>;"));
  assert.ok(
    two.chosen.includes(
      "linux,usable-memory-range = <0x00 0xa0000000 0x00 0x20000000 0x00 0xc000000 0x00 0x4000000>;",
    ),
  );
  assert.ok(
    two.notes.includes("/chosen/linux,elfcorehdr: 0xbf000000 0x10000 (2 address, 2 size cells)"),
  );
  // No /memreserve/ entry for the elfcorehdr: the crash kernel reserves it from the property.
  assert.deepEqual(reservedIn(two.listing), ["0x60000000 0x2000"]);

  const oneCell = STALE.replace("#address-cells = <2>", "#address-cells = <1>")
    .replace("#size-cells = <2>", "#size-cells = <1>");
  const one = await chosenAfter(await dtc(oneCell), { ...BASE, crash });
  assert.ok(one.chosen.includes("linux,elfcorehdr = <0xbf000000 0x10000>;"));
  assert.ok(
    one.chosen.includes("linux,usable-memory-range = <0xa0000000 0x20000000 0xc000000 0x4000000>;"),
  );
  const high = { ...crash, elfcorehdr: { start: 0x1_0000_0000, size: 0x10000 } };
  const oneCellTree = parseFdt(await dtc(oneCell));
  assert.throws(() => editChosenForKexec(oneCellTree, { ...BASE, crash: high }), /does not fit/);
});

Deno.test("a root without #address-cells: normal loads work, crash loads are refused", async () => {
  const bare = await dtc(`/dts-v1/;\n/ { model = "bare"; };`);
  const { chosen, notes } = await chosenAfter(bare, BASE);
  assert.equal(notes[0], "/chosen: created");
  assert.ok(chosen.includes("linux,booted-from-kexec;"));
  const crash = {
    elfcorehdr: { start: 0x1000, size: 0x1000 },
    usableMemory: [{ start: 0, size: 0x10000 }],
  };
  assert.throws(() => editChosenForKexec(parseFdt(bare), { ...BASE, crash }), (e) => {
    assert.ok(e instanceof KexecError);
    assert.match(e.message, /the root node has no #address-cells/);
    assert.match(e.hint!, /assume different defaults/);
    return true;
  });
});

Deno.test("the source tree is not changed, and serialises to the same blob after an edit", async () => {
  const source = await dtc(STALE, ["-p", "512"]);
  const tree = parseFdt(source);
  editChosenForKexec(tree, {
    ...BASE,
    crash: {
      elfcorehdr: { start: 0x1000, size: 0x1000 },
      usableMemory: [{ start: 0, size: 0x10000 }],
    },
  });
  const again = serializeFdt(tree);
  assert.ok(again.length === source.length && again.every((b, i) => b === source[i]));
});

Deno.test("the blob's size depends on what is passed, not on the addresses (plan, place, edit again)", async () => {
  const source = parseFdt(await dtc(STALE));
  const sized = (initrd: number, header: number) =>
    kexecFdtBlob(
      editChosenForKexec(source, {
        ...BASE,
        initrd: { start: initrd, size: 0x1000 },
        crash: {
          elfcorehdr: { start: header, size: 0x1000 },
          usableMemory: [{ start: header, size: 0x1000000 }],
        },
      }).fdt,
      2 * MiB,
    ).blob.length;
  assert.equal(sized(0, 0), sized(0x8_1234_5000, 0xbf000000));
});

Deno.test("a command line with quotes and a newline is one note line", async () => {
  const { notes } = editChosenForKexec(parseFdt(await dtc(STALE)), {
    ...BASE,
    cmdline: cmdline('init=/bin/sh -c "echo hi"\nquiet'),
  });
  assert.ok(
    notes.includes('/chosen/bootargs: "init=/bin/sh -c \\"echo hi\\"\\nquiet"'),
    notes.join("\n"),
  );
});

Deno.test("bad inputs are refused with a KexecError", async () => {
  const fdt = parseFdt(await dtc(STALE));
  const bad: [Partial<KexecChosenInput>, RegExp][] = [
    [{ cmdline: new TextEncoder().encode("no nul") }, /one NUL-terminated string/],
    [{ cmdline: cmdline("a\0b") }, /one NUL-terminated string/],
    [{ cmdline: new Uint8Array(0) }, /one NUL-terminated string/],
    [{ initrd: { start: 0x1000, size: 0 } }, /initrd 4096\+0 is not a range/],
    [{ initrd: { start: -1, size: 10 } }, /initrd/],
    [{ initrd: { start: 2 ** 53, size: 10 } }, /initrd/],
    [{ kaslrSeed: new Uint8Array(4) }, /kaslr-seed must be 8 bytes, not 4/],
    [{ rngSeed: new Uint8Array(0) }, /rng-seed must not be empty/],
    [
      { crash: { elfcorehdr: { start: 0, size: 0x1000 }, usableMemory: [] } },
      /needs usable memory/,
    ],
    [
      { crash: { elfcorehdr: { start: 0, size: NaN }, usableMemory: [{ start: 0, size: 1 }] } },
      /elfcorehdr/,
    ],
  ];
  for (const [change, pattern] of bad) {
    assert.throws(() => editChosenForKexec(fdt, { ...BASE, ...change }), (e) => {
      assert.ok(e instanceof KexecError, `${JSON.stringify(change)}: ${e}`);
      assert.match(e.message, pattern);
      return true;
    });
  }
});
