/**
 * After a successful load: whether sysfs shows the image as loaded, and the
 * one line that says what was loaded, with which syscall.
 *
 * @module
 */

import { PATHS } from "../abi.ts";
import { parseFlag } from "../facts.ts";
import type { LoadInputs } from "../image/load_inputs.ts";
import { encodeRaw } from "../raw_text.ts";
import type { Reporter } from "../report.ts";
import type { System } from "../sys/system.ts";
import type { LoadRequest, LoadResult } from "./request.ts";

function image(crash: boolean): string {
  return crash ? "crash kernel" : "kernel";
}

/**
 * Reads back whether sysfs shows the image loaded, prints the one "loaded
 * ..." line (with a warning when sysfs disagrees) and completes the result
 * with the syscall that loaded it.
 *
 * @example
 * ```ts
 * import { confirm } from "./confirm.ts";
 * import type { LoadInputs } from "../image/load_inputs.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * import type { Reporter } from "../report.ts";
 * const sys = new RecordingSystem({ "/sys/kernel/kexec_loaded": "1\n" });
 * const lines: string[] = [];
 * const rep: Reporter = { info: (l) => lines.push(l), debug: () => {}, warn: () => {} };
 * const inputs = { cmdline: "quiet", initrdParts: ["/boot/initrd"] } as unknown as LoadInputs;
 * const req = { kernel: "/boot/k", initrds: [], crash: false, syscall: "file" as const };
 * const r = confirm(sys, req, inputs, rep, "kexec_file_load", { plans: [], attempts: [], locked: false });
 * if (r.used !== "kexec_file_load" || !/^loaded kernel \/boot\/k with kexec_file_load/.test(lines[0])) {
 *   throw new Error(lines[0]);
 * }
 * ```
 */
export function confirm(
  sys: System,
  req: LoadRequest,
  inputs: LoadInputs,
  rep: Reporter,
  used: "kexec_file_load" | "kexec_load",
  result: Omit<LoadResult, "used">,
): LoadResult {
  const state = parseFlag(sys.readText(req.crash ? PATHS.kexecCrashLoaded : PATHS.kexecLoaded));
  const modules = req.modules?.length ? `; ${req.modules.length} module(s)` : "";
  const parts = inputs.initrdParts;
  const initrd = (parts.length === 0 ? "no initrd" : `initrd ${parts.join(" + ")}`) + modules;
  const check = state === true ? "" : " (warning: sysfs does not show it as loaded)";
  rep.info(
    `loaded ${image(req.crash)} ${req.kernel} with ${used} (${initrd}; command line ` +
      `${encodeRaw(inputs.cmdline).length} bytes)${check}`,
  );
  return { ...result, used };
}
