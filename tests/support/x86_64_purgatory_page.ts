/**
 * Runs an x86_64 purgatory page's System V routines on this machine: the
 * page's bytes are copied into an executable mapping and called through Deno
 * FFI (purgatory_host.test.ts, purgatory_kjump_host.test.ts). Those routines
 * touch no segment register and run no privileged instruction
 * (purgatory_drift.test.ts checks the disassembly), so the code under test is
 * exactly the code kexec_load will jump into.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { PURGATORY_SIZE, type PurgatoryRegion } from "../../lib/arch/x86_64/purgatory.ts";
import {
  PURGATORY_KJUMP_APPEND_OFFSET,
  PURGATORY_REPORT_MAX,
  PURGATORY_REPORT_OFFSET,
  PURGATORY_SHA256_OFFSET,
  PURGATORY_VERIFY_OFFSET,
} from "../../lib/arch/x86_64/purgatory_blob.ts";

const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const PROT_EXEC = 0x4;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MAP_FAILED = (1n << 64n) - 1n;

const LIBC_SYMBOLS = {
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  mprotect: { parameters: ["pointer", "usize", "i32"], result: "i32" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
} as const;

/** The page's routines, callable. */
export interface PageCalls {
  sha256(data: Uint8Array): Uint8Array;
  verify(): number;
  report(result: number): string;
  /** kjump_append into `buf` at `at`; returns its result (a preserve-context page only). */
  kjumpAppend(buf: Uint8Array, at: number, entry: bigint): number;
}

/**
 * Maps `size` bytes read+write for `body` (anonymous, page-aligned: stands in
 * for physical memory, its address for a physical address), then unmaps them.
 */
export function withMemory(size: number, body: (base: Deno.PointerObject) => void): void {
  const libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
  try {
    const mapping = libc.symbols.mmap(
      null,
      BigInt(size),
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
      -1,
      0n,
    );
    assert.ok(mapping !== null && BigInt(Deno.UnsafePointer.value(mapping)) !== MAP_FAILED);
    try {
      body(mapping);
    } finally {
      libc.symbols.munmap(mapping, BigInt(size));
    }
  } finally {
    libc.close();
  }
}

/**
 * Maps `page` (one 4 KiB page of x86_64 code) read+execute (written while
 * read+write, then mprotect'ed, so its routines also prove they never write
 * into their own page) and hands `body` a way to call into it.
 */
export function withCode(
  page: Uint8Array,
  body: (
    fn: <const D extends Deno.ForeignFunction>(offset: number, d: D) => Deno.UnsafeFnPointer<D>,
  ) => void,
): void {
  assert.equal(
    Deno.build.arch,
    "x86_64",
    "this host test executes x86_64 code and needs an x86_64 machine",
  );
  assert.equal(page.length, PURGATORY_SIZE);
  withMemory(PURGATORY_SIZE, (mapping) => {
    new Uint8Array(new Deno.UnsafePointerView(mapping).getArrayBuffer(PURGATORY_SIZE)).set(page);
    const libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
    try {
      assert.equal(
        libc.symbols.mprotect(mapping, BigInt(PURGATORY_SIZE), PROT_READ | PROT_EXEC),
        0,
      );
    } finally {
      libc.close();
    }
    body((offset, definition) =>
      new Deno.UnsafeFnPointer(Deno.UnsafePointer.offset(mapping, offset)!, definition)
    );
  });
}

/**
 * Maps a purgatory `page` with {@link withCode} and hands callable entry
 * points to `body`.
 */
export function withPage(page: Uint8Array, body: (calls: PageCalls) => void): void {
  withCode(page, (fn) => {
    const sha256 = fn(PURGATORY_SHA256_OFFSET, {
      parameters: ["buffer", "usize", "buffer"],
      result: "void",
    });
    const verify = fn(PURGATORY_VERIFY_OFFSET, { parameters: [], result: "i64" });
    const report = fn(PURGATORY_REPORT_OFFSET, {
      parameters: ["buffer", "i64"],
      result: "usize",
    });
    const kjumpAppend = fn(PURGATORY_KJUMP_APPEND_OFFSET, {
      parameters: ["pointer", "u64"],
      result: "usize",
    });
    body({
      kjumpAppend(buf, at, entry) {
        const ptr = Deno.UnsafePointer.offset(Deno.UnsafePointer.of(buf)!, at);
        return Number(kjumpAppend.call(ptr, entry));
      },
      sha256(data) {
        const out = new Uint8Array(32);
        sha256.call(data, BigInt(data.length), out);
        return out;
      },
      verify: () => Number(verify.call()),
      report(result) {
        // Sentinel bytes past the end show any write beyond the limit.
        const buf = new Uint8Array(PURGATORY_REPORT_MAX + 16).fill(0xa5);
        const len = Number(report.call(buf, BigInt(result)));
        assert.ok(len <= PURGATORY_REPORT_MAX, `report wrote ${len} bytes`);
        assert.ok(buf.subarray(PURGATORY_REPORT_MAX).every((b) => b === 0xa5));
        return new TextDecoder().decode(buf.subarray(0, len));
      },
    });
  });
}

/** SHA-256 by node:crypto. */
export function nodeSha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** Where `buf` is in this process (stands in for a physical address). */
export function hostAddress(buf: Uint8Array): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}

/** A region table entry for a host buffer. */
export function regionOf(buf: Uint8Array, sha256 = nodeSha256(buf)): PurgatoryRegion {
  return { mem: hostAddress(buf), len: buf.length, sha256 };
}
