/**
 * Every fuzz target, and the parsers the project will have but does not yet.
 * Adding a parser: write its target next to these (see ../target.ts) and list
 * it in {@link TARGETS}; remove its line from {@link NOT_PRESENT}.
 *
 * @module
 */

import type { FuzzTarget } from "../target.ts";
import { bzImagePlanTarget } from "./bzimage_plan.ts";
import { cmdlineTarget, invocationTarget } from "./command_line.ts";
import { cpioWriterTarget } from "./cpio_writer.ts";
import {
  cpuListTarget,
  crashNotesTarget,
  crashPlanTarget,
  crashRegionsTarget,
  kallsymsTarget,
  kcoreTarget,
  vmcoreinfoTarget,
} from "./crash.ts";
import { efiHandoverTarget } from "./efi.ts";
import {
  arm64CrashTarget,
  arm64ImageTarget,
  arm64PlanTarget,
  kcoreVmcoreinfoTarget,
} from "./arm64.ts";
import { elfDynamicTarget } from "./elf_dynamic.ts";
import { fdtChosenTarget, fdtTarget } from "./fdt.ts";
import {
  decompressTarget,
  extraFileTarget,
  ukiTarget,
  vmlinuxTarget,
  zbootTarget,
} from "./formats.ts";
import { efiSystabTarget, factsTarget, kjumpTarget } from "./host_text.ts";
import { checkImageTarget, resolveKernelTarget, setupHeaderTarget } from "./image_header.ts";
import { hexAddressTarget, iomemTarget, memmapTarget, memorySourceTarget } from "./memory_text.ts";
import { rawTextTarget } from "./raw_text.ts";
import { multibootHeaderTarget, multibootInfoTarget, multibootPlanTarget } from "./multiboot.ts";

/** The fuzzed parsers, in report order. */
export const TARGETS: readonly FuzzTarget<unknown>[] = [
  setupHeaderTarget,
  resolveKernelTarget,
  checkImageTarget,
  bzImagePlanTarget,
  multibootHeaderTarget,
  multibootInfoTarget,
  multibootPlanTarget,
  ukiTarget,
  zbootTarget,
  decompressTarget,
  vmlinuxTarget,
  extraFileTarget,
  elfDynamicTarget,
  fdtTarget,
  fdtChosenTarget,
  cpioWriterTarget,
  iomemTarget,
  memmapTarget,
  hexAddressTarget,
  memorySourceTarget,
  factsTarget,
  efiSystabTarget,
  efiHandoverTarget,
  kjumpTarget,
  cmdlineTarget,
  invocationTarget,
  rawTextTarget,
  crashRegionsTarget,
  cpuListTarget,
  crashNotesTarget,
  vmcoreinfoTarget,
  kallsymsTarget,
  kcoreTarget,
  crashPlanTarget,
  kcoreVmcoreinfoTarget,
  arm64ImageTarget,
  arm64PlanTarget,
  arm64CrashTarget,
];

/** Parsers named by issue 6 that do not exist in lib/ yet, so nothing is fuzzed for them. */
export const NOT_PRESENT: readonly { readonly name: string; readonly what: string }[] = [
  { name: "cpio_reader", what: "newc reader (only the writer exists; its inputs are fuzzed)" },
];

/**
 * The target with this name.
 *
 * @example
 * ```ts
 * import { targetNamed } from "./mod.ts";
 * if (targetNamed("iomem").entry.indexOf("parseIomem") < 0) throw new Error();
 * ```
 */
export function targetNamed(name: string): FuzzTarget<unknown> {
  const target = TARGETS.find((t) => t.name === name);
  if (!target) {
    throw new Error(`no fuzz target '${name}'; known: ${TARGETS.map((t) => t.name).join(", ")}`);
  }
  return target;
}
