/**
 * The image-format registry: unwrapping until a native format matches,
 * nesting, the depth limit, embedded parts, -t, and the refusals that name
 * what a file is.
 */

import assert from "node:assert/strict";
import { architecture } from "../../lib/arch/mod.ts";
import { KexecError } from "../../lib/errors.ts";
import { MAX_UNWRAP_DEPTH, resolveKernel, typeNames } from "../../lib/image/registry.ts";
import type { WrapperFormat } from "../../lib/image/types.ts";
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

function kexecError(re: RegExp) {
  return (e: unknown) => e instanceof KexecError && re.test(e.message);
}

Deno.test("a native image is returned as is, with no unwrapping", () => {
  const k = syntheticKernel();
  const r = resolveKernel(k, "/boot/vmlinuz", X86, { wrappers: [WRAP] });
  assert.equal(r.format.name, "bzImage");
  assert.equal(r.bytes, k);
  assert.equal(r.unwrapped, false);
  assert.deepEqual(r.initrds, []);
  assert.equal(r.cmdline, undefined);
});

Deno.test("wrappers nest: outer parts first, the innermost command line wins", () => {
  const k = syntheticKernel();
  const r = resolveKernel(wrapped(k, 2), "/k", X86, { wrappers: [WRAP] });
  assert.equal(r.format.name, "bzImage");
  assert.equal(r.unwrapped, true);
  assert.deepEqual([...r.bytes], [...k]);
  assert.deepEqual(r.initrds.map((p) => p.name), ["/k:initrd", "/k (toy payload):initrd"]);
  assert.equal(new TextDecoder().decode(r.cmdline), "cmdline of /k (toy payload)");
  assert.equal(r.notes.length, 3);
  assert.match(r.notes[2], /x86 bzImage/);
});

Deno.test("more layers than the limit are refused, naming the file", () => {
  const k = syntheticKernel();
  assert.ok(resolveKernel(wrapped(k, MAX_UNWRAP_DEPTH), "/k", X86, { wrappers: [WRAP] }));
  assert.throws(
    () => resolveKernel(wrapped(k, MAX_UNWRAP_DEPTH + 1), "/k", X86, { wrappers: [WRAP] }),
    kexecError(/kernel \/k is wrapped more than 4 layers deep/),
  );
});

Deno.test("another architecture's kernel names both architectures, also when wrapped", () => {
  assert.throws(
    () => resolveKernel(arm64Image(), "/Image", X86),
    kexecError(/is an arm64 Image built for arm64 \(aarch64\), but this machine is x86_64/),
  );
  assert.throws(
    () => resolveKernel(wrapped(syntheticKernel(), 1), "/k", ARM64, { wrappers: [WRAP] }),
    kexecError(/\/k \(toy payload\) is an x86 bzImage built for x86_64, but this machine is arm64/),
  );
});

Deno.test("unknown content: what it looks like and what was tried", () => {
  assert.throws(
    () => resolveKernel(new Uint8Array(4096), "/garbage", X86, { wrappers: [WRAP] }),
    kexecError(
      /^cannot determine the kernel format of \/garbage: not a kernel image this tool recognises \(tried toy, bzImage, Multiboot2, Multiboot\)$/,
    ),
  );
  const xz = new Uint8Array(4096);
  xz.set([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
  assert.throws(() => resolveKernel(xz, "/k.xz", X86), kexecError(/xz-compressed data/));
  const elf = new Uint8Array(4096);
  elf.set([0x7f, 0x45, 0x4c, 0x46]);
  elf[0x12] = 243;
  assert.throws(() => resolveKernel(elf, "/vmlinux", X86), kexecError(/an ELF file for riscv64/));
});

Deno.test("-t: known names pass, a disagreeing file is refused, unknown names are usage errors", () => {
  const k = syntheticKernel();
  assert.equal(resolveKernel(k, "/k", X86, { type: "bzImage64" }).format.name, "bzImage");
  assert.equal(
    resolveKernel(wrapped(k, 1), "/k", X86, { type: "toy", wrappers: [WRAP] }).format.name,
    "bzImage",
  );
  assert.throws(
    () => resolveKernel(k, "/k", X86, { type: "toy", wrappers: [WRAP] }),
    kexecError(/kernel \/k is a bzImage, not toy as -t toy says/),
  );
  assert.throws(
    () => resolveKernel(k, "/k", X86, { type: "Image" }),
    (e: unknown) =>
      e instanceof KexecError && e.exitCode === 1 &&
      /unsupported kernel type 'Image' for x86_64/.test(e.message) &&
      /known types: bzImage64, bzImage/.test(e.hint ?? ""),
  );
  assert.deepEqual(typeNames(X86, [WRAP]), [
    "bzImage64",
    "bzImage",
    "multiboot2-x86",
    "multiboot2",
    "multiboot-x86",
    "multiboot",
    "toy",
  ]);
  assert.equal(
    resolveKernel(arm64Image(), "/Image", ARM64, { type: "Image" }).format.name,
    "Image",
  );
});
