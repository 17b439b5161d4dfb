/**
 * What a test process prepares once per (architecture, kernel, tool) and
 * shares between the cases that boot it: the assets, the kernel, the tool and
 * the base initramfs (see ./image.ts).
 *
 * @module
 */

import {
  defaultCacheDir,
  ensureTestAssets,
  type GuestArchName,
  type TestAssets,
} from "../../../scripts/fetch-test-assets.ts";
import { findTestKernel } from "../../../scripts/build-test-kernel.ts";
import { type GuestArch, guestArch } from "./arch.ts";
import { buildBaseImage } from "./image.ts";
import { buildTool, type ToolBuild } from "./tool.ts";

/**
 * Which kernel a guest boots (and finds at `$KERNEL`): Debian's for the
 * architecture (or `E2E_KERNEL`/`E2E_KERNEL_AARCH64`), the architecture's test
 * kernel built by scripts/build-test-kernel.ts, or a file.
 */
export type KernelChoice = "debian" | "test" | { path: string };

/** The booted kernel. */
export interface GuestKernel {
  /** Host path. */
  path: string;
  /** Where it came from, for logs. */
  source: string;
  /** Its config file, when known. */
  config?: string;
}

/** Everything shared by the cases of one (architecture, kernel, tool). */
export interface Prepared {
  /** The architecture's QEMU settings. */
  arch: GuestArch;
  /** Its assets. */
  assets: TestAssets;
  /** The kernel booted and placed at `$KERNEL`. */
  kernel: GuestKernel;
  /** This process's temporary directory. */
  workDir: string;
  /** The base archive. */
  base: string;
  /** The tool, unless the guest is busybox-only. */
  tool: ToolBuild | null;
}

const prepared = new Map<string, Promise<Prepared>>();
let workDirPromise: Promise<string> | undefined;

function log(line: string): void {
  console.log(`[e2e] ${line}`);
}

/** A temporary directory under the cache, removed when the process ends (unless E2E_KEEP=1). */
export function workDir(): Promise<string> {
  workDirPromise ??= (async () => {
    const tmpRoot = `${defaultCacheDir()}/tmp`;
    await Deno.mkdir(tmpRoot, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: tmpRoot, prefix: "run-" });
    globalThis.addEventListener("unload", () => {
      if (Deno.env.get("E2E_KEEP") !== "1") {
        try {
          Deno.removeSync(dir, { recursive: true });
        } catch {
          // best effort
        }
      }
    });
    return dir;
  })();
  return workDirPromise;
}

async function resolveKernel(
  arch: GuestArchName,
  choice: KernelChoice,
  assets: TestAssets,
): Promise<GuestKernel> {
  if (choice === "debian") {
    return { path: assets.kernel, source: assets.kernelSource, config: assets.kernelConfig };
  }
  if (choice === "test") {
    const built = await findTestKernel(arch);
    return {
      path: built.image,
      source: `${built.spec.name} ${built.release} (${built.key})`,
      config: built.config,
    };
  }
  await Deno.stat(choice.path);
  return { path: choice.path, source: choice.path };
}

function keyOf(arch: GuestArchName, kernel: KernelChoice, withTool: boolean): string {
  return JSON.stringify([arch, kernel, withTool]);
}

/**
 * Prepares (once per process and key) a guest of `arch` booting `kernel`,
 * with or without the tool.
 */
export function prepareGuest(
  archName: GuestArchName,
  kernel: KernelChoice,
  withTool: boolean,
): Promise<Prepared> {
  const key = keyOf(archName, kernel, withTool);
  let p = prepared.get(key);
  if (!p) {
    const index = prepared.size;
    p = (async () => {
      const started = performance.now();
      const assets = await ensureTestAssets({ arch: archName, log });
      const booted = await resolveKernel(archName, kernel, assets);
      const dir = await workDir();
      const native = Deno.build.arch === archName;
      let tool = withTool ? await buildTool(`${dir}/tool`, { bundleOnly: !native }) : null;
      // The bundle is JavaScript: the guest's own deno runs it.
      if (tool?.kind === "bundle") tool = { ...tool, deno: assets.deno };
      const base = `${dir}/base-${index}-${archName}-${withTool ? "tool" : "busybox"}.cpio`;
      const size = await buildBaseImage({
        busybox: assets.busybox,
        kernel: booted.path,
        tool,
        sysroot: assets.sysroot,
        output: base,
      });
      log(
        `prepared ${archName} ${withTool ? `tool (${tool!.kind}) + ` : ""}busybox base ` +
          `initramfs: ${(size / 2 ** 20).toFixed(1)} MiB, kernel ${booted.source}, ` +
          `${Math.round(performance.now() - started)} ms`,
      );
      return { arch: guestArch(archName), assets, kernel: booted, workDir: dir, base, tool };
    })();
    prepared.set(key, p);
  }
  return p;
}
