/**
 * Host packages some guests need besides the base assets: Debian's `ovmf`
 * (UEFI firmware for `firmware: "ovmf"` cases) and `makedumpfile` (run inside
 * every crash kernel on its /proc/vmcore). A missing one is an error naming the
 * package, never a skip.
 *
 * @module
 */

import { TestAssetError } from "../../../scripts/fetch-test-assets.ts";

/** Where Debian's ovmf package puts its images (bookworm: the 4 MiB build first). */
const OVMF_CANDIDATES = [
  { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
  { code: "/usr/share/OVMF/OVMF_CODE.fd", vars: "/usr/share/OVMF/OVMF_VARS.fd" },
];
/** Where Debian's makedumpfile package installs the program. */
const MAKEDUMPFILE_CANDIDATES = ["/usr/bin/makedumpfile", "/usr/sbin/makedumpfile"];

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The OVMF code image and the pristine variable store (copy it per run).
 *
 * @example
 * ```ts
 * import { findOvmf } from "./host_tools.ts";
 * try {
 *   const { code, vars } = findOvmf();
 *   if (!code.endsWith(".fd") || !vars.endsWith(".fd")) throw new Error(code);
 * } catch (e) {
 *   if (!(e as Error).message.includes("apt-get install ovmf")) throw e;
 * }
 * ```
 */
export function findOvmf(): { code: string; vars: string } {
  const found = OVMF_CANDIDATES.find((c) => isFile(c.code) && isFile(c.vars));
  if (found) return found;
  throw new TestAssetError(
    `no OVMF firmware (looked for ${OVMF_CANDIDATES.map((c) => c.code).join(", ")}); ` +
      "install it: apt-get install ovmf",
  );
}

/**
 * The host's makedumpfile, copied with its libraries into crash kernels' initrds.
 *
 * @example
 * ```ts
 * import { findMakedumpfile } from "./host_tools.ts";
 * try {
 *   if (!findMakedumpfile().endsWith("/makedumpfile")) throw new Error();
 * } catch (e) {
 *   if (!(e as Error).message.includes("apt-get install makedumpfile")) throw e;
 * }
 * ```
 */
export function findMakedumpfile(): string {
  const found = MAKEDUMPFILE_CANDIDATES.find(isFile);
  if (found) return found;
  throw new TestAssetError(
    `no makedumpfile (looked for ${MAKEDUMPFILE_CANDIDATES.join(", ")}); ` +
      "install it: apt-get install makedumpfile",
  );
}
