/**
 * The two kernels of a kexec jump on a 2 GiB QEMU guest (SeaBIOS), as the
 * end-to-end test runs it: kernel A booted with `mem=1280M`, kernel B started
 * from A with `memmap=exactmap memmap=640K@0 memmap=512M@0x50000000`. Both
 * see the firmware's whole map in /sys/firmware/memmap; /proc/iomem shows
 * what each kernel owns.
 *
 * @module
 */

import { PATHS } from "../../lib/abi.ts";
import type { FakeFile, FakeKernel, FakeSystem } from "./fake_system.ts";
import { machine } from "./machine.ts";

/** The --mem-min/--mem-max window of the e2e test, and B's RAM in it. */
export const WINDOW = { min: 0x5000_0000, max: 0x6fff_ffff } as const;

/** The firmware's map of a 2 GiB guest: /sys/firmware/memmap/N (end inclusive). */
const FIRMWARE_2G: [string, string, string][] = [
  ["0x0", "0x9fbff", "System RAM"],
  ["0x9fc00", "0x9ffff", "Reserved"],
  ["0xf0000", "0xfffff", "Reserved"],
  ["0x100000", "0x7ffdffff", "System RAM"],
  ["0x7ffe0000", "0x7fffffff", "Reserved"],
  ["0xfeffc000", "0xfeffffff", "Reserved"],
  ["0xfffc0000", "0xffffffff", "Reserved"],
];

/** /proc/iomem of kernel A (`mem=1280M`): its RAM ends at 0x50000000. */
export const IOMEM_A = [
  "00000000-00000fff : Reserved",
  "00001000-0009fbff : System RAM",
  "0009fc00-0009ffff : Reserved",
  "000f0000-000fffff : Reserved",
  "00100000-4fffffff : System RAM",
  "  01000000-01e02a06 : Kernel code",
  "7ffe0000-7fffffff : Reserved",
  "fffc0000-ffffffff : Reserved",
  "",
].join("\n");

/** /proc/iomem of kernel B: the low 640K and the 512 MiB window. */
export const IOMEM_B = [
  "00000000-00000fff : Reserved",
  "00001000-0009ffff : System RAM",
  "50000000-6fffffff : System RAM",
  "  51000000-51e02a06 : Kernel code",
  "",
].join("\n");

function firmwareFiles(): Record<string, FakeFile> {
  const files: Record<string, FakeFile> = {
    [PATHS.firmwareMemmap]: { dir: FIRMWARE_2G.map((_, i) => String(i)) },
  };
  FIRMWARE_2G.forEach(([start, end, type], i) => {
    files[`${PATHS.firmwareMemmap}/${i}/start`] = `${start}\n`;
    files[`${PATHS.firmwareMemmap}/${i}/end`] = `${end}\n`;
    files[`${PATHS.firmwareMemmap}/${i}/type`] = `${type}\n`;
  });
  return files;
}

/**
 * Kernel A: the first kernel, with a kernel to load. The fixture's 1 GiB
 * firmware map is replaced by the 2 GiB one (its entries 0..6 are rewritten).
 */
export function kernelA(
  extra: Record<string, FakeFile | undefined> = {},
  kernel: FakeKernel = {},
): FakeSystem {
  return machine({
    ...firmwareFiles(),
    [PATHS.procIomem]: IOMEM_A,
    [PATHS.procCmdline]: "console=ttyS0 panic=-1 mem=1280M\n",
    ...extra,
  }, kernel);
}

/** Kernel B, started by a kexec jump that returns to `jumpBackEntry`. */
export function kernelB(
  jumpBackEntry: string,
  extra: Record<string, FakeFile | undefined> = {},
  kernel: FakeKernel = {},
): FakeSystem {
  return machine({
    ...firmwareFiles(),
    [PATHS.procIomem]: IOMEM_B,
    [PATHS.procCmdline]: "console=ttyS0 memmap=exactmap memmap=640K@0 " +
      `memmap=512M@0x50000000 kexec_jump_back_entry=${jumpBackEntry}\n`,
    ...extra,
  }, kernel);
}
