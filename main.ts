/**
 * kexec: argv in, exit code out. Everything else lives in lib/.
 *
 * @module
 */

import { rawArgs } from "./lib/cli/argv.ts";
import { runCli } from "./lib/cli/run.ts";
import { formatError } from "./lib/errors.ts";
import { hostArchAbi } from "./lib/arch/abi.ts";
import { HostSystem } from "./lib/sys/host.ts";
import type { System } from "./lib/sys/system.ts";

// The kernel caps all of argv at a quarter of the stack limit, and that at
// 6 MiB (fs/exec.c, bprm_stack_limits()).
const ARGV_MAX = 8 << 20;

/**
 * Runs the command on this process's arguments, their bytes kept, through
 * `sys`; resolves to the exit code.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * import { RecordingSystem } from "./lib/sys/recording.ts";
 * // The doc test runs with no arguments: kexec-tools' "No kernel specified".
 * if (await main(new RecordingSystem({})) !== 255) throw new Error();
 * ```
 */
export function main(sys: System): Promise<number> {
  const argv = rawArgs(Deno.args, () => sys.readBytes("/proc/self/cmdline", ARGV_MAX));
  return runCli(argv, sys);
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(new HostSystem(hostArchAbi()));
  } catch (e) {
    // runCli never throws; this is the last guard against a stack trace.
    console.error(formatError(e));
    code = 255;
  }
  Deno.exit(code);
}
