// lib/fdt: reading real blobs (QEMU's virt machine, dtc output in several
// layouts, a /sys/firmware/fdt-style blob with FDT_NOPs and stale bytes),
// byte-exact round trips, and edits checked by decompiling with dtc.
import assert from "node:assert/strict";
import {
  addChild,
  decodeRanges,
  deleteProperty,
  fdtString,
  fdtU32,
  fdtU64,
  findNode,
  getProperty,
  parseFdt,
  readCells,
  readString,
  readStringList,
  readU32,
  readU64,
  rootCells,
  serializeFdt,
  setProperty,
} from "../../lib/fdt/fdt.ts";
import { dtc, dts, dtsNode, qemuVirtDtb } from "../fixtures/fdt.ts";

const u32At = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off);

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const diff = actual.findIndex((b, i) => b !== expected[i]);
  assert.equal(diff, -1, `${what}: first difference at ${diff}`);
}

/** Structure-block tokens of a blob, read with nothing but the header (spec 5.4). */
function tokens(blob: Uint8Array): number[] {
  const start = u32At(blob, 8);
  const size = u32At(blob, 0x24);
  const out: number[] = [];
  for (let at = start; at < start + size;) {
    const token = u32At(blob, at);
    out.push(token);
    at += 4;
    if (token === 1) {
      at += Math.ceil((blob.subarray(at).indexOf(0) + 1) / 4) * 4;
    } else if (token === 3) {
      at += 8 + Math.ceil(u32At(blob, at) / 4) * 4;
    }
  }
  return out;
}

const SAMPLE = `/dts-v1/;
/memreserve/ 0x48000000 0x10000;
/memreserve/ 0x100000000 0x2000;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	model = "sample";
	compatible = "vendor,board", "vendor,soc";
	intc: interrupt-controller@8000000 {
		compatible = "arm,gic-v3";
		reg = <0x0 0x8000000 0x0 0x10000>;
		interrupt-controller;
		#interrupt-cells = <3>;
	};
	memory@40000000 {
		device_type = "memory";
		reg = <0x0 0x40000000 0x0 0x20000000>;
	};
	serial@9000000 {
		interrupt-parent = <&intc>;
		big = /bits/ 64 <0x123456789abcdef0>;
		blob = [01 02 03 04 05];
	};
	chosen {
		stdout-path = "/serial@9000000";
		bootargs = "console=ttyAMA0 root=/dev/vda";
		linux,initrd-start = <0x0 0x48000000>;
		linux,initrd-end = <0x0 0x48010000>;
	};
};
`;

Deno.test("QEMU's virt device tree: parsed, and written back byte for byte", async () => {
  const blob = await qemuVirtDtb();
  const fdt = parseFdt(blob, "virt.dtb");
  assertSameBytes(serializeFdt(fdt), blob, "virt.dtb round trip");

  assert.deepEqual(rootCells(fdt), { addressCells: 2, sizeCells: 2 });
  assert.equal(readString(getProperty(fdt.root, "compatible")!), "linux,dummy-virt");
  const memory = findNode(fdt, "/memory")!;
  assert.equal(memory.name, "memory@40000000");
  assert.deepEqual(decodeRanges(getProperty(memory, "reg")!, rootCells(fdt)), [
    { start: 0x40000000, size: 512 * 1024 * 1024 },
  ]);
  assert.deepEqual(
    readStringList(getProperty(findNode(fdt, "/psci")!, "compatible")!),
    ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"],
  );
  assert.equal(
    readString(getProperty(findNode(fdt, "/chosen")!, "stdout-path")!),
    "/pl011@9000000",
  );
  assert.equal(getProperty(findNode(fdt, "/chosen")!, "kaslr-seed")!.value.length, 8);
  assert.equal(fdt.reservations.length, 0);
  assert.equal(fdt.version, 17);
  // Values are views into the blob, not copies.
  assert.equal(getProperty(memory, "reg")!.value.buffer, blob.buffer);
});

Deno.test("QEMU's virt device tree, moved: dtc reads the same tree from our layout", async () => {
  const blob = await qemuVirtDtb();
  // A new property grows the structure and strings blocks; taking it out again leaves its
  // name in the strings block (as libfdt does), so both writes lay the blocks out anew.
  const grown = parseFdt(blob);
  setProperty(grown.root, "x-test-only", new Uint8Array(4));
  const back = parseFdt(serializeFdt(grown));
  deleteProperty(back.root, "x-test-only");
  const moved = serializeFdt(back);
  assert.equal(u32At(moved, 0x20), u32At(blob, 0x20) + "x-test-only\0".length, "strings grew");
  assert.equal(moved.length, blob.length, "the source's totalsize is kept");
  assert.equal(await dts(moved), await dts(blob));
  const dataEnd = u32At(moved, 0x0c) + u32At(moved, 0x20);
  assert.ok(moved.subarray(dataEnd).every((b) => b === 0), "free space is zero");
});

Deno.test("dtc output in every layout option round-trips byte for byte", async () => {
  const layouts = [[], ["-p", "4096"], ["-S", "16384"], ["-R", "4"], ["-a", "64"], ["-H", "both"], [
    "-H",
    "epapr",
  ]];
  for (const extra of layouts) {
    const blob = await dtc(SAMPLE, extra);
    const fdt = parseFdt(blob, `sample ${extra.join(" ")}`);
    assertSameBytes(serializeFdt(fdt), blob, `dtc ${extra.join(" ")}`);
    assert.deepEqual(fdt.reservations, [
      { address: 0x48000000, size: 0x10000 },
      { address: 0x1_0000_0000, size: 0x2000 },
    ]);
  }
});

Deno.test("dtc output: every kind of value reads back as written", async () => {
  const fdt = parseFdt(await dtc(SAMPLE, ["-H", "both"]), "sample");
  const serial = findNode(fdt, "/serial@9000000")!;
  const intc = findNode(fdt, "/interrupt-controller")!;
  assert.equal(
    readU32(getProperty(intc, "phandle")!),
    readU32(getProperty(serial, "interrupt-parent")!),
  );
  assert.equal(
    readU32(getProperty(intc, "linux,phandle")!),
    readU32(getProperty(intc, "phandle")!),
  );
  assert.equal(getProperty(intc, "interrupt-controller")!.value.length, 0);
  assert.equal(readU64(getProperty(serial, "big")!), 0x123456789abcdef0n);
  assert.deepEqual([...getProperty(serial, "blob")!.value], [1, 2, 3, 4, 5]);
  assert.deepEqual(readCells(getProperty(intc, "reg")!), [0, 0x8000000, 0, 0x10000]);
  assert.deepEqual(readStringList(getProperty(fdt.root, "compatible")!), [
    "vendor,board",
    "vendor,soc",
  ]);
  assert.deepEqual(fdt.root.children.map((c) => c.name), [
    "interrupt-controller@8000000",
    "memory@40000000",
    "serial@9000000",
    "chosen",
  ]);
  assert.equal(
    findNode(fdt, "/chosen")!.properties.map((p) => p.name).join(),
    [
      "stdout-path",
      "bootargs",
      "linux,initrd-start",
      "linux,initrd-end",
    ].join(),
  );
});

/** A blob edited in place the way the running kernel and libfdt leave it. */
async function firmwareStyleBlob(): Promise<Uint8Array> {
  const source = SAMPLE.replace(
    'stdout-path = "/serial@9000000";',
    'stdout-path = "/serial@9000000";\n\t\trng-seed = [00 11 22 33 44 55 66 77 88 99 aa bb cc];',
  ).replace('model = "sample";', 'model = "sample-boa";');
  const blob = (await dtc(source, ["-p", "8192"])).slice();
  const view = new DataView(blob.buffer);
  const structAt = u32At(blob, 8);
  const stringsAt = u32At(blob, 0x0c);
  const nameAt = (name: string) => {
    const strings = new TextDecoder("latin1").decode(
      blob.subarray(stringsAt, stringsAt + u32At(blob, 0x20)),
    );
    return strings.indexOf(`${name}\0`);
  };
  // Find each property by walking the tokens.
  const propertyAt = (name: string) => {
    const off = nameAt(name);
    for (let at = structAt;;) {
      const token = u32At(blob, at);
      if (token === 3 && u32At(blob, at + 8) === off) return at;
      at += 4;
      if (token === 1) at += Math.ceil((blob.subarray(at).indexOf(0) + 1) / 4) * 4;
      if (token === 3) at += 8 + Math.ceil(u32At(blob, at) / 4) * 4;
    }
  };
  // The kernel consumed rng-seed: fdt_nop_property overwrites the property with FDT_NOPs.
  const seed = propertyAt("rng-seed");
  const seedLength = 12 + Math.ceil(13 / 4) * 4;
  for (let at = seed; at < seed + seedLength; at += 4) view.setUint32(at, 4);
  // A value shrunk in place (libfdt does not move a value whose padded size is unchanged):
  // "sample-boa\0" (11 bytes, 12 padded) became "sample-b\0", leaving "oa\0" as padding.
  const model = propertyAt("model");
  view.setUint32(model + 4, 9);
  blob[model + 12 + 8] = 0;
  // Free space holding stale bytes, as after libfdt deletions.
  const dataEnd = stringsAt + u32At(blob, 0x20);
  for (let at = dataEnd; at < blob.length; at++) blob[at] = (at * 7) & 0xff;
  return blob;
}

Deno.test("a blob with FDT_NOPs, stale padding and stale free space round-trips byte for byte", async () => {
  const blob = await firmwareStyleBlob();
  const fdt = parseFdt(blob, "fdt");
  assertSameBytes(serializeFdt(fdt), blob, "firmware-style round trip");
  const chosen = findNode(fdt, "/chosen")!;
  assert.equal(getProperty(chosen, "rng-seed"), undefined);
  assert.equal(readString(getProperty(fdt.root, "model")!), "sample-b");
  // dtc agrees on what the blob holds.
  assert.ok(!(await dts(blob)).includes("rng-seed"));
  assert.ok((await dts(blob)).includes('model = "sample-b";'));
});

Deno.test("an edited firmware-style blob keeps its NOPs and gets zeroed free space", async () => {
  const blob = await firmwareStyleBlob();
  const fdt = parseFdt(blob, "fdt");
  const before = tokens(blob).filter((t) => t === 4).length;
  setProperty(findNode(fdt, "/chosen")!, "bootargs", fdtString("console=ttyAMA0 quiet loglevel=3"));
  const out = serializeFdt(fdt);
  assert.equal(tokens(out).filter((t) => t === 4).length, before);
  assert.equal(u32At(out, 0x10), u32At(blob, 0x10), "reservations stay where they were");
  assert.equal(u32At(out, 0x08), u32At(blob, 0x08), "the structure block stays where it was");
  assert.equal(out.length, blob.length, "the edit fits the free space");
  const dataEnd = u32At(out, 0x0c) + u32At(out, 0x20);
  assert.ok(out.subarray(dataEnd).every((b) => b === 0), "free space is zero");
  assert.ok(
    dtsNode(await dts(out), "chosen").includes('bootargs = "console=ttyAMA0 quiet loglevel=3";'),
  );
});

Deno.test("edits: dtc sees exactly the changed properties and nodes", async () => {
  const fdt = parseFdt(await dtc(SAMPLE), "sample");
  const chosen = findNode(fdt, "/chosen")!;
  setProperty(chosen, "bootargs", fdtString("console=ttyS0"));
  deleteProperty(chosen, "linux,initrd-end");
  setProperty(chosen, "linux,new-u64", fdtU64(0x1_2345_6789));
  const extra = addChild(fdt.root, "extra@1000");
  setProperty(extra, "reg", fdtU32(0x1000));
  fdt.reservations.splice(0, 1);
  const listing = await dts(serializeFdt(fdt, { freeSpace: 4096 }));
  assert.deepEqual(dtsNode(listing, "chosen"), [
    'stdout-path = "/serial@9000000";',
    'bootargs = "console=ttyS0";',
    "linux,initrd-start = <0x00 0x48000000>;",
    "linux,new-u64 = <0x01 0x23456789>;",
  ]);
  assert.deepEqual(dtsNode(listing, "extra@1000"), ["reg = <0x1000>;"]);
  assert.match(listing, /\/memreserve\/\s+0x0*100000000 0x0*2000;/);
  assert.doesNotMatch(listing, /0x48000000 0x0*10000;/);
});

Deno.test("blocks out of the usual order: kept when unchanged, packed in order after an edit", async () => {
  const blob = await dtc(SAMPLE);
  const structAt = u32At(blob, 0x08);
  const stringsAt = u32At(blob, 0x0c);
  const stringsSize = u32At(blob, 0x20);
  // header | reservations | strings | structure
  const swapped = new Uint8Array(blob.length);
  swapped.set(blob.subarray(0, structAt));
  swapped.set(blob.subarray(stringsAt, stringsAt + stringsSize), structAt);
  const newStruct = Math.ceil((structAt + stringsSize) / 4) * 4;
  const misordered = new Uint8Array(newStruct + (stringsAt - structAt));
  misordered.set(swapped.subarray(0, structAt + stringsSize));
  misordered.set(blob.subarray(structAt, stringsAt), newStruct);
  const v = new DataView(misordered.buffer);
  v.setUint32(0x04, misordered.length);
  v.setUint32(0x08, newStruct);
  v.setUint32(0x0c, structAt);
  const fdt = parseFdt(misordered, "misordered");
  assertSameBytes(serializeFdt(fdt), misordered, "misordered round trip");
  assert.equal(await dts(misordered), await dts(blob));
  setProperty(fdt.root, "model", fdtString("sample, longer"));
  const packed = serializeFdt(fdt);
  assert.equal(u32At(packed, 0x10), 0x28);
  assert.ok(u32At(packed, 0x08) < u32At(packed, 0x0c), "structure before strings");
  assert.match(await dts(packed), /model = "sample, longer";/);
});

Deno.test("serializeFdt: free space, the source's size and the size limit", async () => {
  const blob = await dtc(SAMPLE, ["-p", "1000"]);
  const fdt = parseFdt(blob);
  const dataEnd = u32At(blob, 0x0c) + u32At(blob, 0x20);
  assert.equal(serializeFdt(fdt).length, blob.length, "keeps the source's room");
  assert.equal(serializeFdt(fdt, { freeSpace: 4096 }).length, dataEnd + 4096, "exactly that room");
  assert.equal(serializeFdt(fdt, { freeSpace: 0 }).length, dataEnd, "packed");
  assert.throws(() => serializeFdt(fdt, { freeSpace: -1 }), /free space -1 is not a size/);
  assert.equal(
    serializeFdt(fdt, { maxTotalSize: dataEnd + 10 }).length,
    dataEnd,
    "gives up the source's room before the limit",
  );
  assert.throws(
    () => serializeFdt(fdt, { freeSpace: 100, maxTotalSize: dataEnd + 10 }),
    /exceed the limit of/,
  );
});

Deno.test("serializeFdt refuses trees no parser would accept", () => {
  const fdt = parseFdt(serializeFdt({
    root: { name: "", properties: [], children: [] },
    reservations: [],
    bootCpuidPhys: 0,
    version: 17,
    lastCompVersion: 16,
  }));
  fdt.root.properties.push({ name: "a", value: new Uint8Array() }, {
    name: "a",
    value: new Uint8Array(),
  });
  assert.throws(() => serializeFdt(fdt), /two properties 'a'/);
  fdt.root.properties.pop();
  fdt.root.children.push({ name: "a/b", properties: [], children: [] });
  assert.throws(() => serializeFdt(fdt), /named 'a\/b'/);
  fdt.root.children[0].name = "ok";
  fdt.root.children[0].children.push(fdt.root.children[0]);
  assert.throws(() => serializeFdt(fdt), /deeper than 64 \(or in a cycle\)/);
  fdt.root.children.pop();
  fdt.reservations.push({ address: 0x1000, size: 0 });
  assert.throws(() => serializeFdt(fdt), /size 0/);
});
