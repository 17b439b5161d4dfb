/**
 * The libraries kexec opens with dlopen (libcrypto, for kexec_load's
 * SHA-256) go into every image that carries the tool when the system has
 * them: the rescue initramfs, the e2e guests, initramfs.list for the
 * initramfs-tools hook and the dracut module.
 */

import assert from "node:assert/strict";
import { LIBCRYPTO_SONAMES } from "../../lib/sys/libcrypto.ts";
import { sharedLibraryClosure } from "../../scripts/mkinitramfs.ts";
import { rescueEntries } from "../../scripts/initramfs.ts";

const isLibcrypto = (guest: string) => LIBCRYPTO_SONAMES.some((n) => guest.endsWith(`/${n}`));

Deno.test("a dlopened library is packed with the program when the system has it", () => {
  const plain = sharedLibraryClosure(Deno.execPath());
  assert.deepEqual(plain.filter((l) => isLibcrypto(l.guest)), []);
  const withCrypto = sharedLibraryClosure(Deno.execPath(), { dlopened: LIBCRYPTO_SONAMES });
  const crypto = withCrypto.filter((l) => isLibcrypto(l.guest));
  assert.equal(crypto.length, 1, JSON.stringify(withCrypto));
  assert.ok(Deno.statSync(crypto[0].host).isFile);
  // Everything the program links still comes along, each library once.
  for (const l of plain) assert.ok(withCrypto.some((w) => w.guest === l.guest), l.guest);
  assert.equal(new Set(withCrypto.map((l) => l.guest)).size, withCrypto.length);
});

Deno.test("a dlopened library found nowhere is left out, not an error", () => {
  const libs = sharedLibraryClosure(Deno.execPath(), { dlopened: ["libkexec-none.so.9"] });
  assert.ok(!libs.some((l) => l.guest.includes("libkexec-none")));
  assert.deepEqual(libs, sharedLibraryClosure(Deno.execPath()));
});

Deno.test("the rescue initramfs carries libcrypto beside deno", async () => {
  const paths: string[] = [];
  const tool = { bundle: "/etc/hostname", deno: Deno.execPath() };
  for await (const e of rescueEntries({ busybox: "/etc/hostname", tool })) paths.push(e.path);
  assert.equal(paths.filter(isLibcrypto).length, 1, paths.join(" "));
});
