/**
 * SHA-256 of a segment for the purgatory's check (FIPS 180-4), through
 * node:crypto: the portable one. A kexec_load uses it only on a machine
 * without libcrypto (lib/sys/libcrypto.ts), imported by load.ts then, since
 * node:crypto is the most expensive module of the tool to start; tests use it
 * as the reference. The bytes are hashed where they are (a file mapping is
 * read in place, never copied into the JS heap).
 *
 * @module
 */

// Imported at evaluation, not as a static import declaration: deno bundle
// hoists static imports of built-in modules into a chunk every command
// loads, where every command would pay for them.
const { createHash } = await import("node:crypto");

/**
 * The SHA-256 digest of `bytes`.
 *
 * @example
 * ```ts
 * import { sha256 } from "./sha256.ts";
 * const hex = [...sha256(new TextEncoder().encode("abc"))]
 *   .map((b) => b.toString(16).padStart(2, "0")).join("");
 * if (hex !== "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") throw new Error(hex);
 * ```
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}
