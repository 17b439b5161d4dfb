/**
 * Test doubles of the System. The virtual machine lives in lib/sys/recording.ts;
 * SafeHostSystem uses the real files of the host with every kexec syscall,
 * reboot, sync and interface change recorded instead of made.
 *
 * @module
 */

import { hostArchAbi } from "../../lib/arch/abi.ts";
import { HostSystem } from "../../lib/sys/host.ts";
import { Errno } from "../../lib/sys/errno.ts";
import {
  CapturedOutput,
  type KernelAnswers,
  type RecordedCall,
  RecordingSystem,
  recordSyscalls,
  type VirtualFile,
} from "../../lib/sys/recording.ts";

export { CapturedOutput, RecordingSystem as FakeSystem };
export type { KernelAnswers as FakeKernel, RecordedCall as Call, VirtualFile as FakeFile };

/**
 * The real host for files (open, stat, map: harmless) with every kexec
 * syscall, reboot, sync and interface change recorded instead of made.
 */
export class SafeHostSystem extends HostSystem {
  readonly calls: RecordedCall[] = [];
  readonly captured: CapturedOutput;
  #sys: ReturnType<typeof recordSyscalls>;

  constructor(
    kernel: KernelAnswers = { fileLoadErrnos: [Errno.EPERM], loadErrnos: [Errno.EPERM] },
  ) {
    const captured = new CapturedOutput();
    super(hostArchAbi(), captured);
    this.captured = captured;
    this.#sys = recordSyscalls(this.calls, kernel, new Map());
  }
  override kexecFileLoad(kfd: number, ifd: number, cmdline: Uint8Array | null, flags: number) {
    return this.#sys.kexecFileLoad(kfd, ifd, cmdline, flags);
  }
  override kexecLoad(entry: bigint, table: BigUint64Array, nr: number, flags: number) {
    return this.#sys.kexecLoad(entry, table, nr, flags);
  }
  override probeKexecLoadFlags(flags: number) {
    return this.#sys.probeKexecLoadFlags(flags);
  }
  override reboot(cmd: number) {
    return this.#sys.reboot(cmd);
  }
  override sync(timeoutMs: number) {
    return this.#sys.sync(timeoutMs);
  }
  override setInterfaceDown(name: string) {
    return this.#sys.setInterfaceDown(name);
  }
  override mountPrivateSysfs() {
    this.calls.push({ op: "mount_private_sysfs" });
    return Errno.EPERM;
  }
  override kmsg(line: string) {
    this.#sys.kmsg(line);
  }
}
