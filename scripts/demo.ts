/**
 * `deno task demo`: the tool doing its main job, safely, in a QEMU x86_64
 * guest (never on this machine). The guest boots Debian's kernel with a
 * busybox initramfs holding the tool, prints what `kexec --dry-run` would
 * load (the memory map and the segments), loads a second kernel for real,
 * kexecs into it, and the second kernel reports its /proc/cmdline.
 *
 * What it needs: qemu-system-x86 and busybox-static (installed with apt when
 * run as root, else named with the command to run) and Debian's kernel
 * (fetched with `apt-get download` into `.cache/e2e/`, never installed). The
 * guest is the end-to-end harness's (tests/e2e/harness/), booted under TCG:
 * one to four minutes.
 *
 * ```sh
 * deno task demo                      # or: sudo deno task demo on a fresh machine
 * deno task demo --append "quiet hello=world"
 * ```
 *
 * @module
 */

import { ensureHostPackages, HOST_PACKAGES } from "./test-setup.ts";
import { ensureTestAssets, TestAssetError } from "./fetch-test-assets.ts";
import { isRoot } from "./test-assets/common.ts";
import { runGuestCase } from "../tests/e2e/harness/guest.ts";
import type { GuestRun } from "../tests/e2e/harness/guest.ts";
import { value } from "../tests/e2e/harness/checks.ts";
import { GUEST_PATHS } from "../tests/e2e/harness/image.ts";

/** The host packages the demo needs. */
export const DEMO_PACKAGES = HOST_PACKAGES.filter((p) =>
  p.name === "qemu-system-x86" || p.name === "busybox-static"
);
/** The second kernel's command line unless `--append` says otherwise. */
export const DEFAULT_APPEND = `console=ttyS0 panic=-1 demo="kexec for Deno" second=yes`;
const GUEST_SCRIPT = new URL("./demo/guest.sh", import.meta.url).pathname;

function say(line = ""): void {
  console.log(line);
}

function stepOf(run: GuestRun, name: string) {
  return run.report.steps.get(name);
}

/** What the guest showed, for people; returns whether the second kernel got `append`. */
export function describe(run: GuestRun, append: string): boolean {
  const version = stepOf(run, "version");
  if (version) say(`guest: ${version.out.join(" ")} on Linux ${run.report.stage1?.kernel}`);
  const load = `kexec -c -l ${GUEST_PATHS.kernel} --initrd=${GUEST_PATHS.stage2Initrd}` +
    ` --append='${append}'`;
  const dry = stepOf(run, "dry_run");
  say(`\n$ ${load} --dry-run`);
  for (const line of [...(dry?.out ?? []), ...(dry?.err ?? [])]) say(line);
  const loaded = stepOf(run, "load");
  say(`\n$ ${load}`);
  for (const line of [...(loaded?.out ?? []), ...(loaded?.err ?? [])]) say(line);
  say(
    `exit ${loaded?.rc ?? "(not run)"}; /sys/kernel/kexec_loaded: ` +
      `${value(run, "loaded_before")} -> ${value(run, "loaded_after")}`,
  );
  say(`\n$ kexec -e`);
  const stage2 = run.report.stage2;
  if (!stage2 || stage2.token !== run.stage2Token) {
    say("the second kernel did not report: it did not boot");
    return false;
  }
  say(`second kernel up: Linux ${stage2.kernel}`);
  say(`its /proc/cmdline: ${stage2.cmdline}`);
  return stage2.cmdline === append;
}

async function main(args: string[]): Promise<number> {
  const at = args.indexOf("--append");
  const append = at >= 0 ? args[at + 1] ?? "" : DEFAULT_APPEND;
  const log = (line: string) => console.error(`demo: ${line}`);
  await ensureHostPackages(DEMO_PACKAGES, log);
  await ensureTestAssets({ arch: "x86_64", install: isRoot(), log });
  log("booting a QEMU x86_64 guest (TCG, no KVM: a few minutes)...");
  const run = await runGuestCase({
    name: "demo",
    script: GUEST_SCRIPT,
    params: { DEMO_APPEND: append },
  });
  const ok = describe(run, append);
  if (!ok) {
    say(`\ndemo failed; the guest's serial console is in ${run.logs.console}`);
    return 1;
  }
  say(`\nthe second kernel booted with exactly the command line given to kexec.`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    if (!(err instanceof TestAssetError)) throw err;
    console.error(`demo: ${err.message}`);
    Deno.exit(1);
  }
}
