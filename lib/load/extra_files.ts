/**
 * The files a load opens besides the kernel and the initrds: the --dtb device
 * tree and the `--module` files, each opened (and refused for a format that
 * does not take it) before any system call, so that a bad one loses nothing.
 *
 * @module
 */

import { ExitCode, KexecError } from "../errors.ts";
import type { KernelFormat } from "../arch/mod.ts";
import type { OpenedFile, System } from "../sys/system.ts";
import type { LoadRequest } from "./request.ts";

/**
 * The --dtb file's bytes (mapped; the file joins `opened`); a usage error
 * when the kernel's format takes no device tree or the load is
 * kexec_file_load only.
 *
 * @example
 * ```ts
 * import { readDeviceTree } from "./extra_files.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * const sys = new RecordingSystem({ "/boot/virt.dtb": new Uint8Array(64) });
 * const req = { kernel: "/k", initrds: [], crash: false, syscall: "load" as const, dtb: "/boot/virt.dtb" };
 * if (readDeviceTree(sys, req, "arm64 Image", true, []).length !== 64) throw new Error();
 * try {
 *   readDeviceTree(sys, req, "bzImage", false, []);
 *   throw new Error("accepted");
 * } catch (e) {
 *   if (!String(e).includes("not booted with a device tree")) throw e;
 * }
 * ```
 */
export function readDeviceTree(
  sys: System,
  req: LoadRequest,
  format: string,
  takesDeviceTree: boolean | undefined,
  opened: OpenedFile[],
): Uint8Array {
  if (!takesDeviceTree) {
    throw new KexecError(`--dtb: a ${format} kernel is not booted with a device tree`, {
      exitCode: ExitCode.USAGE,
      hint: "drop --dtb",
    });
  }
  if (req.syscall === "file") {
    throw new KexecError(
      "--dtb works with kexec_load only: kexec_file_load builds the device tree itself",
      { exitCode: ExitCode.USAGE, hint: "drop -s (or use -c), or drop --dtb" },
    );
  }
  const file = sys.openFile(req.dtb!, "device tree");
  opened.push(file);
  return sys.mapFile(file);
}

/**
 * Opens every `--module "FILE ARGS"` (FILE is the text before the first
 * space) before any system call, and refuses modules for formats that do
 * not take them.
 *
 * @example
 * ```ts
 * import { openModules } from "./extra_files.ts";
 * import type { KernelFormat } from "../arch/mod.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * const sys = new RecordingSystem({ "/boot/vmlinuz": new Uint8Array(8) });
 * const xen = { takesModules: true, describe: () => "Multiboot2 kernel" } as unknown as KernelFormat;
 * const req = {
 *   kernel: "/boot/xen.gz", initrds: [], crash: false, syscall: "load" as const,
 *   modules: ["/boot/vmlinuz console=hvc0"],
 * };
 * const [m] = openModules(sys, req, xen, new Uint8Array(0), []);
 * if (m.path !== "/boot/vmlinuz" || m.cmdline !== "/boot/vmlinuz console=hvc0") throw new Error();
 * ```
 */
export function openModules(
  sys: System,
  req: LoadRequest,
  format: KernelFormat,
  kernel: Uint8Array,
  opened: OpenedFile[],
): { path: string; cmdline: string; file: OpenedFile }[] {
  const modules = req.modules ?? [];
  if (modules.length > 0 && !format.takesModules) {
    throw new KexecError(
      `--module is for Multiboot kernels, not for kernel ${req.kernel} (${
        format.describe(kernel)
      })`,
      { exitCode: ExitCode.USAGE, hint: "drop --module, or load a Multiboot kernel such as Xen" },
    );
  }
  return modules.map((arg) => {
    const path = arg.split(" ", 1)[0];
    if (path === "") {
      throw new KexecError(`--module '${arg}' names no file`, {
        exitCode: ExitCode.USAGE,
        hint: 'give --module "FILE ARGS", the file first',
      });
    }
    const file = sys.openFile(path, "module");
    opened.push(file);
    return { path, cmdline: arg, file };
  });
}
