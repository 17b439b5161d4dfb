/**
 * The image-format registry: unwrapping until a native format matches,
 * nesting, the depth limit, embedded parts, -t, and the refusals that name
 * what a file is.
 */

import assert from "node:assert/strict";
import { architecture } from "../../lib/arch/mod.ts";
import { KexecError } from "../../lib/errors.ts";
import { MAX_UNWRAP_DEPTH, resolveKernel, typeNames } from "../../lib/image/registry.ts";
import { MemfdImageStore } from "../../lib/image/store.ts";
import type { WrapperFormat } from "../../lib/image/types.ts";
import { RecordingSystem } from "../../lib/sys/recording.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";

const X86 = architecture("x86_64");
const ARM64 = architecture("aarch64");
const enc = (s: string) => new TextEncoder().encode(s);

// A toy wrapper: "WRAP" + payload, carrying one initrd and a command line.
const WRAP: WrapperFormat = {
  name: "toy",
  typeNames: ["toy"],
  probe: (b) => b.length >= 4 && new TextDecoder().decode(b.subarray(0, 4)) === "WRAP",
  unwrap: (b, path) => ({
    kernel: b.subarray(4),
    initrds: [{ name: `${path}:initrd`, bytes: enc(`initrd of ${path}`) }],
    cmdline: enc(`cmdline of ${path}`),
    note: `toy: ${b.length} → ${b.length - 4} bytes`,
  }),
};

function wrapped(inner: Uint8Array, times: number): Uint8Array {
  let b = inner;
  for (let i = 0; i < times; i++) {
    const outer = new Uint8Array(b.length + 4);
    outer.set(enc("WRAP"));
    outer.set(b, 4);
    b = outer;
  }
  return b;
}

function arm64Image(): Uint8Array {
  const img = new Uint8Array(4096);
  new DataView(img.buffer).setUint32(0x38, 0x644d5241, true);
  return img;
}

const store = () => new MemfdImageStore(new RecordingSystem({}));

function kexecError(re: RegExp) {
  return (e: unknown) => e instanceof KexecError && re.test(e.message);
}

Deno.test("a native image is returned as is, with no unwrapping", async () => {
  const k = syntheticKernel();
  const r = await resolveKernel(k, "/boot/vmlinuz", X86, store(), { wrappers: [WRAP] });
  assert.equal(r.format.name, "bzImage");
  assert.equal(r.bytes, k);
  assert.equal(r.unwrapped, false);
  assert.deepEqual(r.initrds, []);
  assert.equal(r.cmdline, undefined);
});

Deno.test("wrappers nest: outer parts first, the innermost command line wins", async () => {
  const k = syntheticKernel();
  const r = await resolveKernel(wrapped(k, 2), "/k", X86, store(), { wrappers: [WRAP] });
  assert.equal(r.format.name, "bzImage");
  assert.equal(r.unwrapped, true);
  assert.deepEqual([...r.bytes], [...k]);
  assert.deepEqual(r.initrds.map((p) => p.name), ["/k:initrd", "/k (toy payload):initrd"]);
  assert.equal(new TextDecoder().decode(r.cmdline), "cmdline of /k (toy payload)");
  assert.equal(r.notes.length, 3);
  assert.match(r.notes[2], /x86 bzImage/);
});

Deno.test("more layers than the limit are refused, naming the file", async () => {
  const k = syntheticKernel();
  assert.ok(
    await resolveKernel(wrapped(k, MAX_UNWRAP_DEPTH), "/k", X86, store(), { wrappers: [WRAP] }),
  );
  await assert.rejects(
    () => resolveKernel(wrapped(k, MAX_UNWRAP_DEPTH + 1), "/k", X86, store(), { wrappers: [WRAP] }),
    kexecError(/kernel \/k is wrapped more than 4 layers deep/),
  );
});

Deno.test("another architecture's kernel names both architectures, also when wrapped", async () => {
  await assert.rejects(
    () => resolveKernel(arm64Image(), "/Image", X86, store()),
    kexecError(/is an arm64 Image built for arm64 \(aarch64\), but this machine is x86_64/),
  );
  await assert.rejects(
    () => resolveKernel(wrapped(syntheticKernel(), 1), "/k", ARM64, store(), { wrappers: [WRAP] }),
    kexecError(/\/k \(toy payload\) is an x86 bzImage built for x86_64, but this machine is arm64/),
  );
});

Deno.test("unknown content: what it looks like and what was tried", async () => {
  await assert.rejects(
    () => resolveKernel(new Uint8Array(4096), "/garbage", X86, store(), { wrappers: [WRAP] }),
    kexecError(
      /^cannot determine the kernel format of \/garbage: not a kernel image this tool recognises \(tried toy, bzImage, ELF vmlinux\)$/,
    ),
  );
  const xz = new Uint8Array(4096);
  xz.set([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  await assert.rejects(
    () => resolveKernel(xz, "/k.xz", X86, store()),
    kexecError(/kernel \/k.xz: its xz data is corrupt or truncated/),
  );
  const lzma = new Uint8Array(4096);
  lzma.set([0x5d, 0x00, 0x00]);
  await assert.rejects(
    () => resolveKernel(lzma, "/k.lzma", X86, store()),
    (e: unknown) =>
      e instanceof KexecError &&
      /is lzma-compressed; this tool inflates gzip, zstd and xz/.test(e.message) &&
      /unlzma/.test(e.hint ?? ""),
  );
  const elf = new Uint8Array(4096);
  elf.set([0x7f, 0x45, 0x4c, 0x46]);
  elf[0x12] = 243;
  await assert.rejects(
    () => resolveKernel(elf, "/vmlinux", X86, store()),
    kexecError(/an ELF file for riscv64/),
  );
});

Deno.test("-t: known names pass, a disagreeing file is refused, unknown names are usage errors", async () => {
  const k = syntheticKernel();
  assert.equal(
    (await resolveKernel(k, "/k", X86, store(), { type: "bzImage64" })).format.name,
    "bzImage",
  );
  assert.equal(
    (await resolveKernel(wrapped(k, 1), "/k", X86, store(), { type: "toy", wrappers: [WRAP] }))
      .format.name,
    "bzImage",
  );
  await assert.rejects(
    () => resolveKernel(k, "/k", X86, store(), { type: "toy", wrappers: [WRAP] }),
    kexecError(/kernel \/k is a bzImage, not toy as -t toy says/),
  );
  await assert.rejects(
    () => resolveKernel(k, "/k", X86, store(), { type: "Image" }),
    (e: unknown) =>
      e instanceof KexecError && e.exitCode === 1 &&
      /unsupported kernel type 'Image' for x86_64/.test(e.message) &&
      /known types: bzImage64, bzImage, elf-x86_64, gzip, zstd, xz, zboot, uki/.test(e.hint ?? ""),
  );
  assert.deepEqual(typeNames(X86, [WRAP]), ["bzImage64", "bzImage", "elf-x86_64", "toy"]);
  assert.equal(
    (await resolveKernel(arm64Image(), "/Image", ARM64, store(), { type: "Image" })).format.name,
    "Image",
  );
});
