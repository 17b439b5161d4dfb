/**
 * A booted x86_64 machine for unit tests: sysfs/procfs files of a QEMU guest
 * with 1 GiB and a 256 MiB crash region, a synthetic kernel and initrd.
 *
 * @module
 */

import { PATHS } from "../../lib/abi.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { memmapFixture } from "../fixtures/fixtures.ts";
import { type FakeFile, type FakeKernel, FakeSystem } from "./fake_system.ts";

/** Paths of the test images. */
export const KERNEL = "/boot/vmlinuz";
export const INITRD = "/boot/initrd.img";
export const INITRD2 = "/boot/ucode.img";

/** The initrd's bytes (a recognisable pattern). */
export const INITRD_BYTES = new Uint8Array(10000).map((_, i) => (i * 13) & 0xff);

/** Files of a healthy machine with kexec and nothing loaded. */
export function machineFiles(): Record<string, FakeFile> {
  const files: Record<string, FakeFile> = {
    // sysfs is mounted: /sys/kernel exists (the -e guard looks for it).
    "/sys/kernel": { dir: ["kexec_loaded", "kexec_crash_loaded", "kexec_crash_size", "security"] },
    [PATHS.kexecLoaded]: "0\n",
    [PATHS.kexecCrashLoaded]: "0\n",
    [PATHS.kexecCrashSize]: "268435456\n",
    [PATHS.lockdown]: "[none] integrity confidentiality\n",
    [PATHS.kexecLoadDisabled]: "0\n",
    [PATHS.kexecLoadLimitReboot]: "-1\n",
    [PATHS.kexecLoadLimitPanic]: "-1\n",
    [PATHS.procSelfStatus]: "Name:\tkexec\nCapEff:\t000001ffffffffff\n",
    [PATHS.procCmdline]:
      'BOOT_IMAGE=/vmlinuz-6.1 root=/dev/vda ro crashkernel=256M console=ttyS0 x="a b"\n',
    [PATHS.netClass]: { dir: ["lo", "eth0", "wlan0"] },
    [KERNEL]: syntheticKernel(),
    [INITRD]: INITRD_BYTES,
    [INITRD2]: new Uint8Array(512).fill(7),
  };
  const memmap = memmapFixture("memmap-qemu-seabios-1g.txt");
  files[PATHS.firmwareMemmap] = { dir: [...memmap.keys()] };
  for (const [n, e] of memmap) {
    files[`${PATHS.firmwareMemmap}/${n}/start`] = e.start;
    files[`${PATHS.firmwareMemmap}/${n}/end`] = e.end;
    files[`${PATHS.firmwareMemmap}/${n}/type`] = e.type;
  }
  return files;
}

/** A fake machine; `extra` overrides or adds files (undefined removes one). */
export function machine(
  extra: Record<string, FakeFile | undefined> = {},
  kernel: FakeKernel = {},
): FakeSystem {
  const files = machineFiles();
  for (const [path, value] of Object.entries(extra)) {
    if (value === undefined) delete files[path];
    else files[path] = value;
  }
  return new FakeSystem(files, kernel);
}
