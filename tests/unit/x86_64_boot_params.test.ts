import assert from "node:assert/strict";
import { buildBootParams, carriedBootParams } from "../../lib/arch/x86_64/boot_params.ts";
import { parseSetupHeader } from "../../lib/arch/x86_64/setup_header.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";

const kernel = syntheticKernel({ hardwareSubarch: 0 });
const header = parseSetupHeader(kernel, "k");
const e820 = [
  { addr: 0, size: 0x9fc00, type: 1 },
  { addr: 0x9fc00, size: 0x400, type: 2 },
  { addr: 0x100000, size: 0x3fee0000, type: 1 },
];

/** A running kernel's boot_params with every byte set, so only chosen fields can leak. */
function runningPage(): Uint8Array {
  const page = new Uint8Array(4096).fill(0x5a);
  const v = new DataView(page.buffer);
  v.setBigUint64(0x070, 0xbffe_2014n, true); // acpi_rsdp_addr
  v.setUint32(0x23c, 3, true); // hardware_subarch (e.g. Intel MID)
  page[0x1ec] = 3; // secure_boot: enabled
  return page;
}

Deno.test("boot_params: every written offset, the rest zero (full-page comparison)", () => {
  const bp = buildBootParams({
    kernel,
    header,
    cmdLinePtr: 0x1_2345_6000,
    initrd: { address: 0x2_0000_0000 + 0x7000, size: 0x1_0000_0123 },
    setupData: 0x3_9bdf_020,
    e820,
    running: runningPage(),
  });
  assert.equal(bp.length, 4096);

  // The expected page, stated field by field with boot.rst / bootparam.h offsets.
  const want = new Uint8Array(4096);
  const w = new DataView(want.buffer);
  want.set(kernel.subarray(0x1f1, 0x26c), 0x1f1); // header: 0x1f1 .. 0x202 + 0x6a
  w.setBigUint64(0x070, 0xbffe_2014n, true); // acpi_rsdp_addr, carried
  w.setUint32(0x0c0, 0x2, true); // ext_ramdisk_image
  w.setUint32(0x0c4, 0x1, true); // ext_ramdisk_size
  w.setUint32(0x0c8, 0x1, true); // ext_cmd_line_ptr
  want[0x1e8] = 3; // e820_entries
  want[0x1ec] = 3; // secure_boot, carried
  want[0x210] = 0xd0; // type_of_loader: kexec (0xD), as the kernel's own loader
  want[0x211] = 0x01; // loadflags: LOADED_HIGH kept, CAN_USE_HEAP cleared
  w.setUint32(0x218, 0x7000, true); // ramdisk_image
  w.setUint32(0x21c, 0x123, true); // ramdisk_size
  w.setUint32(0x228, 0x2345_6000, true); // cmd_line_ptr
  w.setUint32(0x23c, 3, true); // hardware_subarch, carried
  w.setBigUint64(0x240, 0n, true); // hardware_subarch_data
  w.setBigUint64(0x250, 0x3_9bdf_020n, true); // setup_data
  for (const [i, e] of e820.entries()) {
    w.setBigUint64(0x2d0 + 20 * i, BigInt(e.addr), true);
    w.setBigUint64(0x2d0 + 20 * i + 8, BigInt(e.size), true);
    w.setUint32(0x2d0 + 20 * i + 16, e.type, true);
  }
  for (let off = 0; off < 4096; off++) {
    assert.equal(bp[off], want[off], `byte at 0x${off.toString(16)}`);
  }
  // Spot checks that do not depend on the loop above.
  assert.equal(bp[0x1ef], 0, "sentinel must stay 0");
  assert.equal(bp[0x1f1], kernel[0x1f1]);
  assert.equal(bp[0x1f0], 0, "nothing below the header is copied");
  assert.equal(bp[0x26c], 0, "nothing after the header is copied");
  assert.notEqual(kernel[0x1ef], 0, "the fixture's boot sector does fill 0x1ef");
  assert.deepEqual([...bp.subarray(0x1c0, 0x1e0)], Array(32).fill(0), "efi_info stays zero");
});

Deno.test("boot_params: no initrd, no running kernel, addresses below 4 GiB", () => {
  const bp = buildBootParams({
    kernel,
    header,
    cmdLinePtr: 0x99c000,
    initrd: null,
    setupData: 0,
    e820: [],
  });
  const v = new DataView(bp.buffer);
  assert.equal(v.getUint32(0x228, true), 0x99c000);
  assert.equal(v.getUint32(0x0c8, true), 0);
  assert.equal(v.getUint32(0x218, true), 0);
  assert.equal(v.getUint32(0x21c, true), 0);
  assert.equal(v.getUint32(0x0c0, true), 0);
  assert.equal(v.getUint32(0x0c4, true), 0);
  assert.equal(v.getBigUint64(0x250, true), 0n);
  assert.equal(v.getBigUint64(0x070, true), 0n);
  assert.equal(bp[0x1e8], 0);
  assert.equal(bp[0x1ec], 0);
  assert.equal(bp[0x210], 0xd0);
  // The image's stale values in fields we own are overwritten, not inherited.
  assert.deepEqual([...bp.subarray(0x2d0, 0xcd0)], Array(0xa00).fill(0));
});

Deno.test("boot_params: explicit RSDP overrides the running value; image subarch is kept", () => {
  const k = syntheticKernel({ hardwareSubarch: 4 });
  const running = runningPage();
  new DataView(running.buffer).setUint32(0x23c, 0, true);
  const bp = buildBootParams({
    kernel: k,
    header: parseSetupHeader(k, "k"),
    cmdLinePtr: 0x1000,
    initrd: null,
    setupData: 0,
    e820: [],
    running,
    acpiRsdpAddr: 0x7fb7e014,
  });
  const v = new DataView(bp.buffer);
  assert.equal(v.getBigUint64(0x070, true), 0x7fb7e014n);
  assert.equal(v.getUint32(0x23c, true), 4);
});

Deno.test("boot_params: a short header (protocol 2.12) copies only its own length", () => {
  const k = syntheticKernel({ version: 0x020c, jumpDisplacement: 0x62 });
  const h = parseSetupHeader(k, "k");
  assert.equal(h.headerEnd, 0x264);
  const bp = buildBootParams({
    kernel: k,
    header: h,
    cmdLinePtr: 0x1000,
    initrd: null,
    setupData: 0,
    e820: [],
  });
  assert.deepEqual([...bp.subarray(0x1f1, 0x210)], [...k.subarray(0x1f1, 0x210)]);
  assert.equal(k[0x264], 0xcc);
  assert.deepEqual([...bp.subarray(0x264, 0x290)], Array(0x2c).fill(0));
});

Deno.test("boot_params: more than 128 e820 entries are refused; carried fields need a full page", () => {
  const many = Array.from({ length: 129 }, (_, i) => ({ addr: i * 0x1000, size: 0x1000, type: 1 }));
  assert.throws(
    () =>
      buildBootParams({
        kernel,
        header,
        cmdLinePtr: 0x1000,
        initrd: null,
        setupData: 0,
        e820: many,
      }),
    RangeError,
  );
  assert.deepEqual(carriedBootParams(new Uint8Array(100).fill(0xff)), {
    acpiRsdpAddr: 0,
    hardwareSubarch: 0,
    secureBoot: 0,
  });
});
