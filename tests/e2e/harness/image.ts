/**
 * Builds the guests' initramfs files.
 *
 * A guest's first-stage archive is two newc archives back to back (the kernel
 * unpacks both, in order):
 *
 * 1. the base, shared by all cases of a test process: busybox, `/init`
 *    (guest/stage1-init.sh), `/e2e/lib.sh`, `/dev/console`, the test kernel
 *    at `/e2e/vmlinuz`, and unless it is a tool-less self-test: the tool with
 *    its runtime (`deno`, its ELF interpreter and libraries, the bundle and the
 *    `/sbin/kexec` launcher; or the compiled binary with its libraries) and
 *    the test-only entry `/sbin/kexec-test-corrupt` built the same way;
 * 2. the case part: `/e2e/case.sh`, `/e2e/params.sh` and the second-stage
 *    initrd `/e2e/stage2.cpio` carrying a fresh token (and, for crash cases
 *    that ask for it, makedumpfile with its libraries).
 *
 * For a guest of another architecture than the host's, busybox, deno and
 * makedumpfile are that architecture's, and their interpreter and libraries
 * come from its sysroot (scripts/fetch-test-assets.ts); the bundled tool is
 * the same JavaScript.
 *
 * @module
 */

import { type CpioEntry, newcArchive, newcChunks } from "../../../lib/initramfs/cpio.ts";
import {
  hostFileEntry,
  type Placement,
  sharedLibraryClosure,
  writeArchive,
} from "../../../scripts/mkinitramfs.ts";
import type { ToolBuild } from "./tool.ts";
import { LIBCRYPTO_SONAMES } from "../../../lib/sys/libcrypto.ts";
import { bundlePlacements } from "../../../scripts/bundle_files.ts";

const GUEST_DIR = new URL("../guest/", import.meta.url).pathname;

/** Where things are inside the first-stage guest. */
export const GUEST_PATHS = {
  kernel: "/e2e/vmlinuz",
  stage2Initrd: "/e2e/stage2.cpio",
  caseScript: "/e2e/case.sh",
  params: "/e2e/params.sh",
  lib: "/e2e/lib.sh",
  launcher: "/sbin/kexec",
  /** The bundle's entry file; its chunks go beside it. */
  bundle: "/usr/lib/kexec/main.js",
  /** The test-only entry (tests/e2e/tool/corrupt_main.ts); never part of the product. */
  testLauncher: "/sbin/kexec-test-corrupt",
  testBundle: "/usr/lib/kexec-test-corrupt/corrupt_main.js",
  deno: "/usr/bin/deno",
} as const;

/** Name of the token file in the second-stage initrd. */
export const STAGE2_TOKEN_FILE = "/e2e-token";
/** Name of the file naming the results port in the second-stage initrd. */
export const STAGE2_RESULTS_FILE = "/e2e-results-port";
/** Where makedumpfile goes in the second-stage initrd. */
export const STAGE2_MAKEDUMPFILE = "/usr/bin/makedumpfile";

/** Inputs of {@link buildBaseImage}. */
export interface BaseImageInput {
  /** Statically linked busybox. */
  busybox: string;
  /** Test kernel placed at {@link GUEST_PATHS.kernel}. */
  kernel: string;
  /** The tool, or null for a busybox-only guest. */
  tool: ToolBuild | null;
  /** Root in which the tool's interpreter and libraries are found (default: the host's). */
  sysroot?: string;
  /** Output file. */
  output: string;
}

/**
 * The `/sbin/kexec` launcher for the bundled tool: runs the bundle with the
 * guest's deno, with a writable DENO_DIR and HOME even if the caller set none.
 *
 * @example
 * ```ts
 * import { launcherScript } from "./image.ts";
 * const s = launcherScript("/usr/bin/deno", "/usr/lib/kexec/main.js");
 * if (!s.startsWith("#!/bin/sh\n") || !s.includes('/usr/lib/kexec/main.js "$@"')) throw new Error(s);
 * ```
 */
export function launcherScript(deno: string, bundle: string): string {
  return [
    "#!/bin/sh",
    'export DENO_DIR="${DENO_DIR:-/tmp/deno}" HOME="${HOME:-/tmp}" DENO_NO_UPDATE_CHECK=1',
    `exec ${deno} run --allow-all --no-prompt ${bundle} "$@"`,
    "",
  ].join("\n");
}

// A code-split bundle: its entry file at `guestEntry`, its chunks beside it.
async function* bundleEntries(entry: string, guestEntry: string): AsyncGenerator<CpioEntry> {
  for (const { host, guest } of bundlePlacements(entry, guestEntry)) {
    yield await hostFileEntry(host, guest, 0o644);
  }
}

async function* baseEntries(input: BaseImageInput): AsyncGenerator<CpioEntry> {
  const text = new TextEncoder();
  for (const dir of ["/proc", "/sys", "/dev", "/tmp", "/run", "/sbin", "/usr/bin"]) {
    yield { type: "directory", path: dir };
  }
  yield { type: "chardev", path: "/dev/console", major: 5, minor: 1 };
  yield await hostFileEntry(input.busybox, "/bin/busybox", 0o755);
  yield { type: "symlink", path: "/bin/sh", target: "busybox" };
  yield await hostFileEntry(`${GUEST_DIR}stage1-init.sh`, "/init", 0o755);
  yield await hostFileEntry(`${GUEST_DIR}lib.sh`, GUEST_PATHS.lib, 0o644);
  yield await hostFileEntry(input.kernel, GUEST_PATHS.kernel, 0o644);
  const tool = input.tool;
  if (tool === null) return;
  const program = tool.kind === "bundle" ? tool.deno : tool.binary;
  if (tool.kind === "bundle") {
    yield await hostFileEntry(tool.deno, GUEST_PATHS.deno, 0o755);
    yield* bundleEntries(tool.script, GUEST_PATHS.bundle);
    yield {
      type: "file",
      path: GUEST_PATHS.launcher,
      mode: 0o755,
      data: text.encode(launcherScript(GUEST_PATHS.deno, GUEST_PATHS.bundle)),
    };
    yield* bundleEntries(tool.testScript, GUEST_PATHS.testBundle);
    yield {
      type: "file",
      path: GUEST_PATHS.testLauncher,
      mode: 0o755,
      data: text.encode(launcherScript(GUEST_PATHS.deno, GUEST_PATHS.testBundle)),
    };
  } else {
    yield await hostFileEntry(tool.binary, GUEST_PATHS.launcher, 0o755);
    yield await hostFileEntry(tool.testBinary, GUEST_PATHS.testLauncher, 0o755);
  }
  // The tool's libcrypto (its SHA-256 for kexec_load) where the sysroot has
  // one: the x86_64 guests have Debian's; the arm64 sysroot has none, so
  // arm64 guests take the node:crypto path.
  const search = { sysroot: input.sysroot, dlopened: LIBCRYPTO_SONAMES };
  for (const lib of sharedLibraryClosure(program, search)) {
    yield await hostFileEntry(lib.host, lib.guest, 0o755);
  }
}

/**
 * Writes the base archive; returns its size. The deno binary and the kernel
 * are streamed, never held in memory.
 *
 * @example
 * ```ts
 * import { buildBaseImage } from "./image.ts";
 * const dir = await Deno.makeTempDir();
 * // Any files serve for a shape check; the guest would need real ones.
 * const size = await buildBaseImage({
 *   busybox: "/bin/sh", kernel: "/etc/hostname", tool: null, output: `${dir}/base.cpio`,
 * });
 * const head = new TextDecoder().decode((await Deno.readFile(`${dir}/base.cpio`)).subarray(0, 6));
 * await Deno.remove(dir, { recursive: true });
 * if (size < 1000 || head !== "070701") throw new Error(`${size} ${head}`);
 * ```
 */
export function buildBaseImage(input: BaseImageInput): Promise<number> {
  return writeArchive(baseEntries(input), input.output);
}

/**
 * Shell assignments for `/e2e/params.sh`: every value single-quoted, so any
 * byte sequence (quotes, spaces, `$`) reaches the case script unchanged.
 *
 * @example
 * ```ts
 * import { shellAssignments } from "./image.ts";
 * const s = shellAssignments({ APPEND: `a="b c" it's` });
 * if (s !== `APPEND='a="b c" it'\\''s'\n`) throw new Error(s);
 * ```
 */
export function shellAssignments(params: Record<string, string>): string {
  return Object.entries(params).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad variable name ${name}`);
    if (value.includes("\0")) throw new Error(`${name}: NUL cannot be passed to a shell`);
    return `${name}='${value.replaceAll("'", `'\\''`)}'\n`;
  }).join("");
}

/** Options of {@link stage2Archive}. */
export interface Stage2Options {
  /** Device the reporter writes to (default /dev/ttyS1). */
  resultsPort?: string;
  /** More files, e.g. makedumpfile and its libraries. */
  files?: readonly { guest: string; data: Uint8Array; mode?: number }[];
}

/**
 * The second-stage initrd: busybox, `/init`, the token file, the file naming
 * the results port, and any extra files.
 *
 * @example
 * ```ts
 * import { stage2Archive } from "./image.ts";
 * const bytes = stage2Archive(new Uint8Array(10), "#!/bin/busybox sh\n", "tok123", {
 *   resultsPort: "/dev/ttyS0",
 * });
 * const text = new TextDecoder().decode(bytes);
 * if (!text.includes("tok123") || !text.includes("/dev/ttyS0")) throw new Error();
 * ```
 */
export function stage2Archive(
  busybox: Uint8Array,
  init: string,
  token: string,
  options: Stage2Options = {},
): Uint8Array {
  const text = new TextEncoder();
  const port = options.resultsPort ?? "/dev/ttyS1";
  return newcArchive([
    { type: "directory", path: "/dev" },
    { type: "chardev", path: "/dev/console", major: 5, minor: 1 },
    { type: "file", path: "/bin/busybox", data: busybox, mode: 0o755 },
    { type: "symlink", path: "/bin/sh", target: "busybox" },
    { type: "file", path: "/init", data: text.encode(init), mode: 0o755 },
    { type: "file", path: STAGE2_TOKEN_FILE, data: text.encode(token + "\n") },
    { type: "file", path: STAGE2_RESULTS_FILE, data: text.encode(port + "\n") },
    ...(options.files ?? []).map((f) => ({
      type: "file" as const,
      path: f.guest,
      data: f.data,
      mode: f.mode ?? 0o755,
    })),
  ]);
}

/**
 * makedumpfile and the files it needs (interpreter, libraries), as placements
 * for the second-stage initrd.
 *
 * @example
 * ```ts
 * import { makedumpfilePlacements } from "./image.ts";
 * // Any dynamically linked program shows the shape.
 * const p = makedumpfilePlacements(Deno.execPath());
 * if (p[0].guest !== "/usr/bin/makedumpfile" || !p.some((f) => f.guest.endsWith("libc.so.6"))) {
 *   throw new Error(JSON.stringify(p));
 * }
 * ```
 */
export function makedumpfilePlacements(host: string, sysroot?: string): Placement[] {
  return [{ host, guest: STAGE2_MAKEDUMPFILE }, ...sharedLibraryClosure(host, { sysroot })];
}

/** Inputs of {@link buildCaseImage}. */
export interface CaseImageInput {
  /** The base archive from {@link buildBaseImage}. */
  base: string;
  /** The case script (host path). */
  caseScript: string;
  /** Variables for the case script. */
  params: Record<string, string>;
  /** Statically linked busybox (for the second stage). */
  busybox: string;
  /** Token the second stage must print. */
  stage2Token: string;
  /** Output file. */
  output: string;
  /** Host files to add to the first stage at `guest` paths, streamed (large files welcome). */
  files?: readonly { host: string; guest: string }[];
  /** Device the second stage reports to (default /dev/ttyS1). */
  resultsPort?: string;
  /** Host files for the second-stage initrd (e.g. {@link makedumpfilePlacements}). */
  stage2Files?: readonly Placement[];
}

/**
 * Writes a case's first-stage initramfs: a copy of the base followed by the
 * case part, then an archive of the case's extra `files` (streamed) if any.
 *
 * @example
 * ```ts
 * import { buildCaseImage } from "./image.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/base`, "");
 * await Deno.writeTextFile(`${dir}/case.sh`, "true\n");
 * await buildCaseImage({
 *   base: `${dir}/base`, caseScript: `${dir}/case.sh`, params: { X: "1" },
 *   busybox: "/bin/sh", stage2Token: "t", output: `${dir}/out`,
 *   files: [{ host: `${dir}/case.sh`, guest: "/e2e/extra.bin" }],
 * });
 * const text = new TextDecoder().decode(await Deno.readFile(`${dir}/out`));
 * await Deno.remove(dir, { recursive: true });
 * if (!text.includes("e2e/params.sh") || !text.includes("X='1'")) throw new Error();
 * if (!text.includes("e2e/extra.bin\0true\n")) throw new Error("extra file");
 * ```
 */
export async function buildCaseImage(input: CaseImageInput): Promise<void> {
  const text = new TextEncoder();
  const stage2Files = await Promise.all(
    (input.stage2Files ?? []).map(async (f) => ({
      guest: f.guest,
      data: await Deno.readFile(f.host),
    })),
  );
  const stage2 = stage2Archive(
    await Deno.readFile(input.busybox),
    await Deno.readTextFile(`${GUEST_DIR}stage2-init.sh`),
    input.stage2Token,
    { resultsPort: input.resultsPort, files: stage2Files },
  );
  const casePart = newcArchive([
    { type: "file", path: GUEST_PATHS.caseScript, data: await Deno.readFile(input.caseScript) },
    { type: "file", path: GUEST_PATHS.params, data: text.encode(shellAssignments(input.params)) },
    { type: "file", path: GUEST_PATHS.stage2Initrd, data: stage2 },
  ]);
  await Deno.copyFile(input.base, input.output);
  const out = await Deno.open(input.output, { append: true });
  try {
    let at = 0;
    while (at < casePart.length) at += await out.write(casePart.subarray(at));
    if (input.files?.length) {
      const entries = await Promise.all(
        input.files.map((f) => hostFileEntry(f.host, f.guest, 0o644)),
      );
      for await (const chunk of newcChunks(entries)) {
        for (let at = 0; at < chunk.length;) at += await out.write(chunk.subarray(at));
      }
    }
  } finally {
    out.close();
  }
}
