/**
 * kexec: argv in, exit code out. Everything else lives in lib/.
 *
 * @module
 */

import { runCli } from "./lib/cli/run.ts";
import { formatError } from "./lib/errors.ts";
import { hostArchAbi } from "./lib/arch/abi.ts";
import { HostSystem } from "./lib/sys/host.ts";

if (import.meta.main) {
  let code: number;
  try {
    code = await runCli(Deno.args, new HostSystem(hostArchAbi()));
  } catch (e) {
    // runCli never throws; this is the last guard against a stack trace.
    console.error(formatError(e));
    code = 255;
  }
  Deno.exit(code);
}
