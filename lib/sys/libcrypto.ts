/**
 * SHA-256 through the machine's OpenSSL libcrypto, when it has one.
 *
 * The purgatory of a kexec_load checks one SHA-256 digest per segment (FIPS
 * 180-4), so a load hashes the whole kernel and initrd. Deno's own SHA-256
 * lives behind `node:crypto`, whose import starts Node's compatibility layer:
 * about 30-60 ms of CPU on a host and several times that under emulation,
 * more than the hashing itself. `dlopen` of libcrypto costs a few
 * milliseconds, and its `SHA256()` reads the caller's memory in place, so a
 * file mapping is hashed without a copy. A machine without libcrypto (a
 * minimal initramfs) falls back on `node:crypto` (lib/plan/sha256.ts).
 *
 * @module
 */

import type { Sha256 } from "../bytes.ts";

/** Sonames tried in order: OpenSSL 3, then 1.1 (both export the one-shot SHA256()). */
export const LIBCRYPTO_SONAMES: readonly string[] = ["libcrypto.so.3", "libcrypto.so.1.1"];

const SHA256_DIGEST_LENGTH = 32;

const SYMBOLS = {
  // unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md);
  // (OpenSSL's include/openssl/sha.h; kept in 3.x for compatibility.)
  SHA256: { parameters: ["buffer", "usize", "buffer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let opened: Sha256 | null | undefined;

/**
 * A SHA-256 function backed by libcrypto, or undefined when no libcrypto can
 * be opened. Opened once per process.
 *
 * @example
 * ```ts
 * import { libcryptoSha256 } from "./libcrypto.ts";
 * const sha256 = libcryptoSha256();
 * if (sha256) {
 *   const hex = [...sha256(new TextEncoder().encode("abc"))]
 *     .map((b) => b.toString(16).padStart(2, "0")).join("");
 *   if (hex !== "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") throw new Error(hex);
 * }
 * ```
 */
export function libcryptoSha256(): Sha256 | undefined {
  if (opened === undefined) opened = open(LIBCRYPTO_SONAMES);
  return opened ?? undefined;
}

function open(sonames: readonly string[]): Sha256 | null {
  for (const soname of sonames) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(soname, SYMBOLS);
    } catch {
      continue;
    }
    const symbols = lib.symbols;
    return (bytes: Uint8Array): Uint8Array => {
      const digest = new Uint8Array(SHA256_DIGEST_LENGTH);
      // An empty array may reach FFI as a null pointer; SHA256 reads no byte of it.
      symbols.SHA256(bytes, BigInt(bytes.byteLength), digest);
      return digest;
    };
  }
  return null;
}
