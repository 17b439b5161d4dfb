/**
 * Targets for the wrapper and vmlinux parsers: PE section tables and UKIs
 * (profiles included), EFI zboot headers, the decompressor front ends (zstd
 * frame walk, gzip, zstd, xz with the size limit), ELF program headers and
 * the x86_64 vmlinux layout, and `--extra-file` values.
 *
 * @module
 */

import { checkVmlinux, vmlinuxKernel } from "../../../lib/arch/x86_64/vmlinux.ts";
import { readElfExecutable } from "../../../lib/elf/exec.ts";
import { inflate } from "../../../lib/image/decompress.ts";
import { parsePe } from "../../../lib/image/pe.ts";
import type { Codec, ImageSink } from "../../../lib/image/types.ts";
import { UKI } from "../../../lib/image/uki.ts";
import { ZBOOT } from "../../../lib/image/zboot.ts";
import { parseExtraFile } from "../../../lib/initramfs/compose.ts";
import { NewcEncoder } from "../../../lib/initramfs/cpio.ts";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { syntheticKernel } from "../../fixtures/bzimage.ts";
import {
  syntheticPe,
  syntheticUki,
  syntheticVmlinux,
  syntheticZboot,
} from "../../fixtures/images.ts";
import { ascii, type ByteField, type ByteShape, mutateBytes } from "../mutate_bytes.ts";
import { mutateText } from "../mutate_text.ts";
import { check, checkInteger, defineTarget } from "../target.ts";
import { elfShape, KERNEL_MAGICS } from "./shapes.ts";

const NAMES = [".linux", ".cmdline", ".initrd", ".ucode", ".profile", ".osrel", ".uname"];

/** Header fields of a PE file and its section table (PE Format). */
function peShape(seed: Uint8Array): ByteShape {
  const v = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
  const pe = v.getUint32(0x3c, true);
  const table = pe + 24 + v.getUint16(pe + 20, true);
  const count = v.getUint16(pe + 6, true);
  const fields: ByteField[] = [
    { offset: 0x3c, size: 4 },
    { offset: pe, size: 4 },
    { offset: pe + 4, size: 2 },
    { offset: pe + 6, size: 2 },
    { offset: pe + 20, size: 2 },
    { offset: pe + 24, size: 2 },
  ];
  for (let i = 0; i < count; i++) {
    const at = table + i * 40;
    fields.push(
      { offset: at, size: 8 },
      ...[8, 12, 16, 20].map((o) => ({ offset: at + o, size: 4 as const })),
    );
  }
  return {
    fields,
    boundaries: [pe, table, table + count * 40],
    hotEnd: table + count * 40,
    dictionary: [...KERNEL_MAGICS, ...NAMES.map(ascii)],
    maxLength: 0x20000,
  };
}

const within = (outer: Uint8Array, inner: Uint8Array) =>
  inner.buffer === outer.buffer && inner.byteOffset >= outer.byteOffset &&
  inner.byteOffset + inner.byteLength <= outer.byteOffset + outer.byteLength;

/** parsePe and the UKI wrapper: sections are views of the file, profiles exist or are refused. */
export const ukiTarget = defineTarget<{ bytes: Uint8Array; profile: number }>({
  name: "pe_uki",
  entry: "lib/image/pe.ts parsePe + lib/image/uki.ts UKI.probe/unwrap",
  seeds: () => [
    { bytes: syntheticUki(), profile: 0 },
    { bytes: syntheticUki(), profile: 1 },
    { bytes: syntheticPe([[".linux", syntheticKernel({ pmSize: 0x400 })]]), profile: 0 },
  ],
  mutate: (rng, seed, seeds) => ({
    bytes: mutateBytes(rng, seed.bytes, peShape(seed.bytes), seeds.map((s) => s.bytes)),
    profile: rng.chance(0.1) ? rng.int(4) : seed.profile,
  }),
  run({ bytes, profile }) {
    const pe = parsePe(bytes, "fuzz.efi");
    for (const s of pe.sections) check(s.name.length <= 8, `section name ${s.name}`);
    if (!UKI.probe(bytes)) return;
    const u = UKI.unwrap(bytes, "fuzz.efi", { maxImageBytes: 1 << 20, ukiProfile: profile });
    check(u.kernel instanceof Uint8Array && within(bytes, u.kernel), ".linux is not a view");
    for (const p of u.initrds ?? []) check(within(bytes, p.bytes), `${p.name} is not a view`);
    if (u.cmdline) {
      check(u.cmdline.every((b) => b > 0x20 && b !== 0x7f || b === 0x20), "control character");
      check(u.cmdline[0] !== 0x20 && u.cmdline.at(-1) !== 0x20, "untrimmed command line");
    }
  },
});

/** The EFI zboot wrapper: a payload inside the file, of the codec its header names. */
export const zbootTarget = defineTarget<Uint8Array>({
  name: "zboot",
  entry: "lib/image/zboot.ts ZBOOT.probe/unwrap",
  seeds: () => [syntheticZboot("gzip"), syntheticZboot("zstd")],
  mutate: (rng, seed, seeds) =>
    mutateBytes(rng, seed, {
      fields: [8, 12, 16, 20, 0x18, 0x1c, 0x3c].map((offset) => ({ offset, size: 4 as const })),
      boundaries: [0x18, 0x38, 0x40, 0x200],
      hotEnd: 0x40,
      dictionary: [...KERNEL_MAGICS, ascii("gzip"), ascii("zstd22"), ascii("xzkern"), ascii("lz4")],
      maxLength: 0x8000,
    }, seeds),
  run(bytes) {
    if (!ZBOOT.probe(bytes)) return;
    const u = ZBOOT.unwrap(bytes, "fuzz.efi", { maxImageBytes: 1 << 20 });
    check(!(u.kernel instanceof Uint8Array), "zboot must give compressed bytes");
    if (!(u.kernel instanceof Uint8Array)) {
      check(within(bytes, u.kernel.data) && u.kernel.data.length > 0, "payload outside the file");
      check(["gzip", "zstd", "xz"].includes(u.kernel.codec), `codec ${u.kernel.codec}`);
    }
  },
});

const LIMIT = 1 << 18;
const XZ_64_ZEROS = "fd377a585a000004e6d6b4460200210116000000742fe5a3e0003f00065d00006e58469800" +
  "00000002243016a57a54de000122409bb2e8f11fb6f37d010000000004595a";

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}

// The xz decoder is imported on first use, which can take longer than an
// input's time bound on a loaded machine: start the import when the target loads.
import("xz-decompress").catch(() => {});

/** inflate: output within the limit and exactly what reached the sink, or a KexecError. */
export const decompressTarget = defineTarget<{ codec: Codec; data: Uint8Array }>({
  name: "decompress",
  entry: "lib/image/decompress.ts inflate (+ zstdFramesProblem)",
  seeds: () => {
    const kernel = syntheticKernel({ pmSize: 0x2000 });
    return [
      { codec: "gzip" as const, data: new Uint8Array(gzipSync(kernel)) },
      { codec: "zstd" as const, data: new Uint8Array(zstdCompressSync(kernel)) },
      { codec: "gzip" as const, data: new Uint8Array(gzipSync(new Uint8Array(1 << 19))) },
      { codec: "zstd" as const, data: new Uint8Array(zstdCompressSync(new Uint8Array(1 << 19))) },
      // `head -c 64 /dev/zero | xz -c` (xz-utils 5.4: CRC64, LZMA2).
      { codec: "xz" as const, data: fromHex(XZ_64_ZEROS) },
    ];
  },
  mutate: (rng, seed, seeds) => ({
    codec: rng.chance(0.05) ? rng.pick(["gzip", "zstd", "xz"] as const) : seed.codec,
    data: mutateBytes(rng, seed.data, {
      fields: [0, 4, 8, 12].map((offset) => ({ offset, size: 4 as const })),
      hotEnd: 32,
      dictionary: KERNEL_MAGICS,
      maxLength: 0x10000,
    }, seeds.map((s) => s.data)),
  }),
  async run({ codec, data }) {
    let written = 0;
    const sink: ImageSink = {
      write: (chunk) => void (written += chunk.length),
      finish: () => new Uint8Array(0),
      discard: () => {},
    };
    const n = await inflate({ codec, data }, sink, { limit: LIMIT, what: "fuzz" });
    check(n === written, `reported ${n}, wrote ${written}`);
    checkInteger(n, "output", 0, LIMIT);
  },
});

/** readElfExecutable, then the x86_64 vmlinux layout, check and made-up header. */
export const vmlinuxTarget = defineTarget<{ bytes: Uint8Array; crash: boolean }>({
  name: "elf_vmlinux",
  entry: "lib/elf/exec.ts readElfExecutable + lib/arch/x86_64/vmlinux.ts",
  seeds: () => [{ bytes: syntheticVmlinux(), crash: false }, {
    bytes: syntheticVmlinux(),
    crash: true,
  }],
  mutate: (rng, seed, seeds) => ({
    bytes: mutateBytes(rng, seed.bytes, elfShape(seed.bytes), seeds.map((s) => s.bytes)),
    crash: rng.chance(0.1) ? !seed.crash : seed.crash,
  }),
  run({ bytes, crash }) {
    const elf = readElfExecutable(bytes, "fuzz.vmlinux");
    for (const l of elf.loads) {
      check(l.filesz <= l.memsz && l.offset + l.filesz <= bytes.length, "PT_LOAD outside");
    }
    const c = checkVmlinux({
      bytes,
      path: "fuzz.vmlinux",
      cmdlineLength: 10,
      wideUserAddresses: false,
      pageSize: 4096,
    });
    check(c.segmentLoadMax === 2047, "COMMAND_LINE_SIZE");
    const image = vmlinuxKernel(bytes, "fuzz.vmlinux", crash);
    let end = 0;
    for (const p of image.pieces) {
      check(p.offset >= end && p.offset % 4096 === 0, "pieces overlap or are misaligned");
      check(within(bytes, p.buf) && p.buf.length <= p.memsz, "piece outside the file");
      end = p.offset + p.memsz;
    }
    check(image.entryOffset >= 0 && image.entryOffset < end, "entry outside the kernel");
    const req = image.placement(true, 4096);
    checkInteger(req.size, "span", 1);
  },
});

/** `--extra-file` values: HOST and GUEST, then GUEST as an archive path. */
export const extraFileTarget = defineTarget<string>({
  name: "extra_file",
  entry: "lib/initramfs/extra_file.ts parseExtraFile + newc_encoder.ts NewcEncoder.header",
  seeds: () => ["/root/key.pub:/etc/ssh/authorized_keys", "/etc/hostname", "a:b:/c", "/x:"],
  mutate: (rng, seed, seeds) => mutateText(rng, seed, [":", "/", "..", "\0", "//"], seeds),
  run(value) {
    const { host, guest } = parseExtraFile(value);
    check(host.length > 0 || value.length === 0, "empty host path");
    check(value === host || value === `${host}:${guest}`, "value not split at a colon");
    new NewcEncoder().header({ type: "file", path: guest, size: 1, chunks: [] });
  },
});
