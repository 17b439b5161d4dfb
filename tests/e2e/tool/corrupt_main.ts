/**
 * Test-only entry point: the kexec command (main.ts) through a System that
 * passes the kexec_load segment of the file named by KEXEC_TEST_CORRUPT_FILE
 * with one byte flipped after its digest was taken
 * (tests/support/corrupting_system.ts). The end-to-end harness builds it
 * beside the tool and installs it in the guests as /sbin/kexec-test-corrupt;
 * the product has no such option.
 *
 * @module
 */

import { main } from "../../../main.ts";
import { hostArchAbi } from "../../../lib/arch/abi.ts";
import { formatError } from "../../../lib/errors.ts";
import { HostSystem } from "../../../lib/sys/host.ts";
import { CorruptingSystem } from "../../support/corrupting_system.ts";

if (import.meta.main) {
  let code: number;
  try {
    const path = Deno.env.get("KEXEC_TEST_CORRUPT_FILE");
    if (!path) throw new Error("set KEXEC_TEST_CORRUPT_FILE to the file whose segment to corrupt");
    code = await main(new CorruptingSystem(new HostSystem(hostArchAbi()), path));
  } catch (e) {
    console.error(formatError(e));
    code = 255;
  }
  Deno.exit(code);
}
