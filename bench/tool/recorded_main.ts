/**
 * Benchmark-only entry point: the kexec command (main.ts) on this machine's
 * real files, through a System whose kexec syscalls, reboot, sync and
 * interface changes are never made. They answer EPERM, as they do for
 * kexec-tools in the unprivileged user namespace (`unshare -r -n`) where it
 * is measured, so both tools do all their user-space work and fail at the
 * same point. The product has no such option; `deno task bench` bundles this
 * file the way the `bundle` task bundles main.ts.
 *
 * With `KEXEC_BENCH_MEMORY=1` it prints one line on stderr,
 * `kexec-bench-memory {...}`: /proc/self/smaps_rollup (kB) when the entry
 * starts, at every kexec syscall (where every buffer of the load is alive)
 * and at the end.
 *
 * @module
 */

import { main } from "../../main.ts";
import { hostArchAbi } from "../../lib/arch/abi.ts";
import { formatError } from "../../lib/errors.ts";
import { HostSystem } from "../../lib/sys/host.ts";
import { Errno } from "../../lib/sys/errno.ts";
import { type MemorySample, parseRollup } from "../support/memory.ts";

/** One reading of /proc/self/smaps_rollup. */
function memorySample(at: string): MemorySample {
  return parseRollup(Deno.readTextFileSync("/proc/self/smaps_rollup"), at);
}

/** The host, with the calls that would change the machine answered EPERM instead. */
class RecordedHostSystem extends HostSystem {
  readonly samples: MemorySample[] | undefined;

  constructor(samples: MemorySample[] | undefined) {
    super(hostArchAbi());
    this.samples = samples;
  }
  override kexecFileLoad(): number {
    this.samples?.push(memorySample("kexec_file_load"));
    return Errno.EPERM;
  }
  override kexecLoad(): number {
    this.samples?.push(memorySample("kexec_load"));
    return Errno.EPERM;
  }
  override probeKexecLoadFlags(): number {
    return Errno.EPERM;
  }
  override reboot(): number {
    return Errno.EPERM;
  }
  override sync(): Promise<boolean> {
    return Promise.resolve(true);
  }
  override setInterfaceDown(): number {
    return Errno.EPERM;
  }
  override mountPrivateSysfs(): number {
    return Errno.EPERM;
  }
  override kmsg(): void {}
}

if (import.meta.main) {
  const samples = Deno.env.get("KEXEC_BENCH_MEMORY") === "1" ? [memorySample("start")] : undefined;
  let code: number;
  try {
    code = await main(new RecordedHostSystem(samples));
  } catch (e) {
    console.error(formatError(e));
    code = 255;
  }
  if (samples) {
    samples.push(memorySample("end"));
    console.error(`kexec-bench-memory ${JSON.stringify(samples)}`);
  }
  Deno.exit(code);
}
