/**
 * kexec as a library: load, unload, boot and inspect kernels from Deno.
 *
 * Everything that touches the machine goes through a {@link System}; pass
 * `new HostSystem(hostArchAbi())` for the real one. Planning functions are pure and can be
 * used to see what a load would pass to the kernel without calling anything.
 *
 * @example
 * ```ts
 * import { planFileLoad } from "./mod.ts";
 * const plan = planFileLoad({
 *   kernel: { path: "/boot/vmlinuz", fd: 3, size: 8_000_000 },
 *   initrd: null,
 *   initrdPaths: [],
 *   cmdline: "console=ttyS0",
 *   crash: false,
 * });
 * if (plan.flags !== 0x4) throw new Error("expected KEXEC_FILE_NO_INITRAMFS");
 * ```
 *
 * @module
 */

export { loadKernel as load, type LoadRequest, type LoadResult } from "./load.ts";
export { unloadKernel as unload, type UnloadRequest } from "./unload.ts";
export { execKernel as exec, type ExecRequest, type ExecSteps } from "./exec.ts";
export { formatStatus, readStatus as status, type StatusReport } from "./status.ts";
export { planFileLoad } from "./plan/file_load.ts";
export type { FileLoadPlan, LoadPlan, Segment, SegmentLoadPlan } from "./plan/types.ts";
export { resolveCmdline } from "./cmdline.ts";
export { ExitCode, KexecError } from "./errors.ts";
export { runCli } from "./cli/run.ts";
export { HostSystem } from "./sys/host.ts";
export { hostArchAbi } from "./arch/abi.ts";
export { architecture, ARCHITECTURES } from "./arch/mod.ts";
export { resolveKernel } from "./image/registry.ts";
export { MemfdImageStore } from "./image/store.ts";
export type { MemfdWriter, OpenedFile, Output, System } from "./sys/system.ts";
export { type Reporter, silentReporter, stderrReporter } from "./report.ts";
export { planBzImage64 } from "./arch/x86_64/bzimage.ts";
export { planCrashBzImage64 } from "./arch/x86_64/crash.ts";
export { buildElfCoreHeader, elfCoreProgramHeaders } from "./crash/elfcorehdr.ts";
export { findCrashRegions } from "./crash/region.ts";
export { buildPurgatory } from "./arch/x86_64/purgatory.ts";
export { newcArchive, newcChunks } from "./initramfs/cpio.ts";
export { readElfDynamic } from "./elf/dynamic.ts";
