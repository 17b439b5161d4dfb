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
export { resolveCmdline, reuseCmdline } from "./cmdline.ts";
export { decodeRaw, displayRaw, encodeRaw } from "./raw_text.ts";
export { ExitCode, KexecError } from "./errors.ts";
export { runCli } from "./cli/run.ts";
export { HostSystem } from "./sys/host.ts";
export { hostArchAbi } from "./arch/abi.ts";
export { architecture, ARCHITECTURES } from "./arch/mod.ts";
export { resolveKernel } from "./image/registry.ts";
export { MemfdImageStore } from "./image/store.ts";
export type { MemfdWriter, OpenedFile, Output, System } from "./sys/system.ts";
export type { Sha256 } from "./bytes.ts";
export { type Reporter, silentReporter, stderrReporter } from "./report.ts";
export { planBzImage64 } from "./arch/x86_64/bzimage.ts";
export { planCrashBzImage64 } from "./arch/x86_64/crash.ts";
export { buildElfCoreHeader, elfCoreProgramHeaders } from "./crash/elfcorehdr.ts";
export { findCrashRegions } from "./crash/region.ts";
export { buildPurgatory } from "./arch/x86_64/purgatory.ts";
export { newcArchive, newcChunks } from "./initramfs/cpio.ts";
export { readElfDynamic } from "./elf/dynamic.ts";
export {
  layoutFromIomem,
  layoutFromRanges,
  type MapRange,
  type MemoryLayout,
  type MemoryPicture,
  memoryPicture,
} from "./plan/memory_picture.ts";
export { drawMemoryPicture, shortSize } from "./plan/memory_drawing.ts";
export { parseIomem } from "./memory/iomem.ts";
export type { MemoryKind, MemoryRange } from "./memory/types.ts";
// Types the functions above take or return.
export type { Attempt } from "./load.ts";
export type { UnloadStep } from "./unload.ts";
export type { FlagsWord, SyscallAvailability } from "./status.ts";
export type { SyscallMode, UnloadPlan } from "./plan/types.ts";
export type { FileLoadInput } from "./plan/file_load.ts";
export type { CmdlineInput } from "./cmdline.ts";
export type { Arch } from "./abi.ts";
export type { ArchAbi } from "./arch/abi_types.ts";
export type { Architecture } from "./arch/types.ts";
export type { ResolvedKernel, ResolveOptions } from "./image/registry.ts";
export type { ImageSink, ImageStore } from "./image/types.ts";
export type { IomemNode } from "./memory/iomem.ts";
export type { CrashRegions } from "./crash/region.ts";
export type { ElfCoreHeaderInput, ElfCoreProgramHeader } from "./crash/elfcorehdr.ts";
export type { BzImagePlanInput } from "./arch/x86_64/bzimage.ts";
export type { CrashPlanInput } from "./arch/x86_64/crash.ts";
export type { PurgatoryConfig } from "./arch/x86_64/purgatory.ts";
export type { CpioEntry, NewcOptions } from "./initramfs/cpio.ts";
export type { ElfByteSource, ElfDynamicInfo } from "./elf/dynamic.ts";
export type { AddressRange } from "./crash/ranges.ts";
export type { ArchCli } from "./arch/cli.ts";
export type { CpioDevice } from "./initramfs/cpio.ts";
export type { CpioDirectory } from "./initramfs/cpio.ts";
export type { CpioFileBytes } from "./initramfs/cpio.ts";
export type { CpioFileStream } from "./initramfs/cpio.ts";
export type { CpioSymlink } from "./initramfs/cpio.ts";
export type { CpuCrashNote } from "./crash/elfcorehdr.ts";
export type { CrashSources } from "./crash/sources.ts";
export type { EfiFirmware } from "./arch/x86_64/efi.ts";
export type { EmbeddedPart } from "./image/types.ts";
export type { ExtraSegmentsHook } from "./arch/x86_64/bzimage.ts";
export type { KernelFormat } from "./arch/types.ts";
export type { KernelTextMapping } from "./crash/elfcorehdr.ts";
export type { KexecJump } from "./arch/types.ts";
export type { NoKexecJump } from "./arch/types.ts";
export type { NoteBuffer } from "./crash/elfcorehdr.ts";
export type { PurgatoryRegion } from "./arch/purgatory_regions.ts";
export type { SyscallNumbers } from "./arch/abi_types.ts";
export type { UnwrapOptions } from "./image/types.ts";
export type { WrapperFormat } from "./image/types.ts";
export type { X86KernelImage } from "./arch/x86_64/kernel_image.ts";
export type { CpioEntryBase } from "./initramfs/cpio.ts";
export type { EfiMemoryDescriptor } from "./arch/x86_64/efi.ts";
export type { ExtraSegmentRequest } from "./arch/x86_64/bzimage.ts";
export type { ExtraSegmentsResult } from "./arch/x86_64/bzimage.ts";
export type { ImageCheck } from "./arch/types.ts";
export type { ImageCheckInput } from "./arch/types.ts";
export type { JumpBackHelperInput } from "./arch/types.ts";
export type { JumpBackHelperPlan } from "./arch/types.ts";
export type { KcoreLoad } from "./crash/sources.ts";
export type { KernelPiece } from "./arch/x86_64/kernel_image.ts";
export type { KernelSymbols } from "./crash/sources.ts";
export type { OptionEffect } from "./arch/cli.ts";
export type { PlacementRequest } from "./memory/allocator.ts";
export type { SegmentLoadInput } from "./arch/types.ts";
export type { SetupHeader } from "./arch/x86_64/setup_header.ts";
export type { Unwrapped } from "./image/types.ts";
export type { AddressBound } from "./memory/allocator.ts";
export type { CompressedPayload } from "./image/types.ts";
export type { Direction } from "./memory/allocator.ts";
export type { HostFacts } from "./facts.ts";
export type { KernelModule } from "./arch/types.ts";
export type { Codec } from "./image/types.ts";
export type { LockdownMode } from "./facts.ts";
