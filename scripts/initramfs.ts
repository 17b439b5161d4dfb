/**
 * `deno task initramfs`: a minimal rescue initramfs, busybox and kexec, written
 * with the project's own newc (cpio) writer (lib/initramfs/cpio.ts through
 * scripts/mkinitramfs.ts).
 *
 * What goes in:
 * - `/init` (scripts/rescue/init.sh): mounts /proc, /sys, devtmpfs and tmpfs,
 *   runs the executables in `/etc/rescue.d/` (append a cpio archive holding
 *   yours: the kernel unpacks concatenated archives in order), then a shell;
 * - `/bin/busybox` (a static one: package busybox-static) and `/bin/sh`;
 * - `/sbin/kexec`: the compiled executable when `dist/kexec` exists
 *   (`deno task compile`), else the launcher of `deno task install` running
 *   the bundle (`deno task bundle`) with this deno at `/usr/bin/deno`;
 * - the ELF interpreter and the shared libraries of whichever program runs.
 *
 * ```sh
 * deno task initramfs                         # dist/rescue.cpio
 * deno task initramfs --output /tmp/r.cpio --busybox /usr/bin/busybox
 * qemu-system-x86_64 -kernel /boot/vmlinuz -initrd dist/rescue.cpio -append console=ttyS0 ...
 * ```
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import type { CpioEntry } from "../lib/initramfs/cpio.ts";
import { hostFileEntry, sharedLibraryClosure, writeArchive } from "./mkinitramfs.ts";
import { launcherText } from "./install.ts";
import { bundlePlacements } from "./bundle_files.ts";
import { LIBCRYPTO_SONAMES } from "../lib/sys/libcrypto.ts";
import { isFile } from "./test-assets/common.ts";

const REPO = new URL("../", import.meta.url).pathname;
const INIT = `${REPO}scripts/rescue/init.sh`;
/** Where deno and the bundle go when there is no compiled executable. */
export const RESCUE_PATHS = {
  kexec: "/sbin/kexec",
  deno: "/usr/bin/deno",
  /** The bundle's entry file; its chunks go beside it. */
  bundle: "/usr/lib/kexec-deno/kexec/main.js",
} as const;

/** The tool as it goes into the image: a compiled executable, or deno and the bundle's entry file. */
export type RescueTool = { compiled: string } | { bundle: string; deno: string };

/** Inputs of {@link rescueEntries}. */
export interface RescueInputs {
  /** busybox on the host (static, or its libraries are added too). */
  busybox: string;
  /** The tool. */
  tool: RescueTool;
  /** The /init script (default scripts/rescue/init.sh). */
  init?: string;
}

/** A rescue image that cannot be built; the message says why. */
export class RescueError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "RescueError";
  }
}

/**
 * The archive's entries, in order: directories, the console device, busybox,
 * /init, the tool, then every library the programs need (each once).
 *
 * @example
 * ```ts
 * import { rescueEntries } from "./initramfs.ts";
 * const paths: string[] = [];
 * const tool = { bundle: "/etc/hostname", deno: Deno.execPath() };
 * for await (const e of rescueEntries({ busybox: "/etc/hostname", tool })) paths.push(e.path);
 * for (const p of ["/init", "/bin/busybox", "/sbin/kexec", "/usr/bin/deno"]) {
 *   if (!paths.includes(p)) throw new Error(`${p} missing from ${paths.join(" ")}`);
 * }
 * if (!paths.some((p) => p.includes("ld-linux"))) throw new Error("no ELF interpreter");
 * ```
 */
export async function* rescueEntries(inputs: RescueInputs): AsyncGenerator<CpioEntry> {
  for (const dir of ["/proc", "/sys", "/dev", "/tmp", "/run", "/bin", "/sbin", "/etc"]) {
    yield { type: "directory", path: dir };
  }
  yield { type: "directory", path: "/etc/rescue.d" };
  yield { type: "chardev", path: "/dev/console", major: 5, minor: 1 };
  yield await hostFileEntry(inputs.busybox, "/bin/busybox", 0o755);
  yield { type: "symlink", path: "/bin/sh", target: "busybox" };
  yield await hostFileEntry(inputs.init ?? INIT, "/init", 0o755);
  const programs = [inputs.busybox];
  if ("compiled" in inputs.tool) {
    yield await hostFileEntry(inputs.tool.compiled, RESCUE_PATHS.kexec, 0o755);
    programs.push(inputs.tool.compiled);
  } else {
    yield await hostFileEntry(inputs.tool.deno, RESCUE_PATHS.deno, 0o755);
    for (const { host, guest } of bundlePlacements(inputs.tool.bundle, RESCUE_PATHS.bundle)) {
      yield await hostFileEntry(host, guest, 0o644);
    }
    yield {
      type: "file",
      path: RESCUE_PATHS.kexec,
      mode: 0o755,
      data: new TextEncoder().encode(launcherText(RESCUE_PATHS.deno, RESCUE_PATHS.bundle)),
    };
    programs.push(inputs.tool.deno);
  }
  const seen = new Set<string>();
  for (const program of programs) {
    // kexec opens libcrypto for kexec_load's SHA-256 when it can (much
    // cheaper to start than node:crypto); busybox needs none.
    const dlopened = program === inputs.busybox ? [] : LIBCRYPTO_SONAMES;
    for (const lib of sharedLibraryClosure(program, { dlopened })) {
      if (seen.has(lib.guest)) continue;
      seen.add(lib.guest);
      yield await hostFileEntry(lib.host, lib.guest, 0o755);
    }
  }
}

function findBusybox(): string {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/bin", "/usr/bin"])) {
    try {
      if (Deno.statSync(`${dir}/busybox`).isFile) return `${dir}/busybox`;
    } catch {
      // not here
    }
  }
  throw new RescueError(
    "busybox not found; install a static one: apt-get install busybox-static (or give --busybox)",
  );
}

async function bundleTool(): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "bundle"],
    cwd: REPO,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!r.success) throw new RescueError("deno task bundle failed (see above)");
  return `${REPO}dist/bundle/main.js`;
}

/** Relative paths are the caller's: `deno task` runs in the repository, INIT_CWD is where it was started. */
function fromCaller(path: string): string {
  return resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), path);
}

function parseArgs(args: string[]): { output: string; busybox?: string } {
  let output = `${REPO}dist/rescue.cpio`;
  let busybox: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new RescueError(`${arg} needs a value`);
      return v;
    };
    if (arg === "-o" || arg === "--output") output = fromCaller(value());
    else if (arg === "--busybox") busybox = fromCaller(value());
    else {
      throw new RescueError(`unknown argument ${arg} (use --output FILE, --busybox PATH)`);
    }
  }
  return { output, busybox };
}

async function main(args: string[]): Promise<number> {
  const { output, busybox } = parseArgs(args);
  const compiled = `${REPO}dist/kexec`;
  const tool: RescueTool = isFile(compiled)
    ? { compiled }
    : { bundle: await bundleTool(), deno: Deno.execPath() };
  await Deno.mkdir(dirname(output), { recursive: true });
  const size = await writeArchive(
    rescueEntries({ busybox: busybox ?? findBusybox(), tool }),
    output,
  );
  const what = "compiled" in tool ? `${compiled}` : `deno + ${tool.bundle}`;
  console.error(
    `initramfs: wrote ${output} (${(size / 2 ** 20).toFixed(1)} MiB; kexec: ${what})`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    if (!(err instanceof RescueError) && !(err instanceof Deno.errors.NotFound)) throw err;
    console.error(`initramfs: ${err.message}`);
    Deno.exit(1);
  }
}
