/**
 * Writes the man page generated from the option table to docs/kexec.8.
 *
 * ```sh
 * deno task man
 * ```
 *
 * @module
 */

import { manPage } from "../lib/cli/help.ts";

if (import.meta.main) {
  const out = new URL("../docs/kexec.8", import.meta.url);
  Deno.writeTextFileSync(out, manPage());
  console.log(`wrote ${out.pathname}`);
}
