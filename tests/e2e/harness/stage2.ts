/**
 * Boots a second-stage initrd directly (no kexec), so the second-stage
 * reporter (guest/stage2-init.sh with the guest architecture's busybox) is
 * proven on its own: token, byte-exact command line, results port.
 *
 * @module
 */

import { defaultCacheDir, ensureTestAssets } from "../../../scripts/fetch-test-assets.ts";
import { guestArch, type GuestArchName } from "./arch.ts";
import type { GuestRun } from "./guest.ts";
import { makedumpfilePlacements, stage2Archive } from "./image.ts";
import { runQemu } from "./qemu.ts";
import { parseReport } from "./results.ts";

/** What {@link bootStage2Directly} boots. */
export interface Stage2Boot {
  /** Names the logs. */
  name: string;
  /** Guest architecture (default x86_64). */
  arch?: GuestArchName;
  /** Kernel arguments after `console=<console>`. */
  args: string;
  /** Put makedumpfile into the initrd as a crash case would. */
  makedumpfile?: boolean;
  /** Hard timeout. */
  timeoutMs: number;
}

/**
 * Boots the architecture's Debian kernel with a fresh second-stage initrd as
 * its only initrd; returns a run for {@link expectGuest} with `stage2Token` set.
 */
export async function bootStage2Directly(boot: Stage2Boot): Promise<GuestRun> {
  const arch = guestArch(boot.arch);
  const assets = await ensureTestAssets({ arch: arch.name });
  await Deno.mkdir(`${defaultCacheDir()}/tmp`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${defaultCacheDir()}/tmp`, prefix: "stage2-" });
  try {
    const token = crypto.randomUUID();
    const files = boot.makedumpfile && assets.makedumpfile
      ? await Promise.all(
        makedumpfilePlacements(assets.makedumpfile, assets.sysroot).map(async (p) => ({
          guest: p.guest,
          data: await Deno.readFile(p.host),
        })),
      )
      : [];
    const initrd = `${dir}/stage2.cpio`;
    await Deno.writeFile(
      initrd,
      stage2Archive(
        await Deno.readFile(assets.busybox),
        await Deno.readTextFile(new URL("../guest/stage2-init.sh", import.meta.url)),
        token,
        { resultsPort: arch.resultsPort, files },
      ),
    );
    const append = `console=${arch.console} ${boot.args}`;
    const qemu = await runQemu({
      qemu: assets.qemu,
      arch,
      kernel: assets.kernel,
      initrd,
      append,
      memoryMiB: 512,
      smp: 1,
      timeoutMs: boot.timeoutMs,
      consoleLog: `${dir}/console.log`,
      resultsLog: `${dir}/results.log`,
    });
    console.log(`[e2e] ${boot.name} (${arch.name}): ${qemu.durationMs} ms wall`);
    return {
      spec: { name: boot.name, script: "", arch: arch.name },
      arch,
      kernel: { path: assets.kernel, source: assets.kernelSource, config: assets.kernelConfig },
      append,
      stage1Token: "",
      stage2Token: token,
      qemu,
      report: parseReport(qemu.results),
      assets,
      logs: { console: `${dir}/console.log`, results: `${dir}/results.log` },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
