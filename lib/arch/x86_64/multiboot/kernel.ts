/**
 * What a Multiboot or Multiboot2 kernel asks for: its header read, its
 * layout found and every request checked, before any system call (the
 * format's check) and again by the planner (plan.ts).
 *
 * @module
 */

import { KexecError } from "../../../errors.ts";
import type { ImageCheck, ImageCheckInput } from "../../types.ts";
import { hex } from "../../../format.ts";
import { MULTIBOOT_BOOTLOADER_MAGIC, parseMultiboot1Header } from "./header1.ts";
import {
  type Mb2Relocatable,
  MULTIBOOT2_BOOTLOADER_MAGIC,
  parseMultiboot2Header,
} from "./header2.ts";
import { type KernelLayout, layoutFromAddressFields, layoutFromElf } from "./image.ts";
import { checkInformationRequests, MB2_TAG } from "./info2.ts";

/** What {@link readMultibootKernel} found in a kernel. */
export interface MultibootKernel {
  /** EAX at entry for this version. */
  readonly magic: number;
  /** Where its bytes go, at its link addresses. */
  readonly layout: KernelLayout;
  /** Multiboot2's relocatable tag, if any. */
  readonly relocatable?: Mb2Relocatable;
  /** It asks for an EFI system table (Multiboot2 information type 11 or 12). */
  readonly wantsEfi: boolean;
  /** Lines for -d and --dry-run. */
  readonly notes: readonly string[];
}

/**
 * Reads the header and layout of a Multiboot (`version` 1) or Multiboot2
 * kernel; throws a KexecError naming the file for anything the planner would
 * refuse in them. `haveEfi` says whether an EFI system table can be passed.
 *
 * @example
 * ```ts
 * import { readMultibootKernel } from "./kernel.ts";
 * let message = "";
 * try { readMultibootKernel(new Uint8Array(64), "k", 2, false); } catch (e) {
 *   message = (e as Error).message;
 * }
 * if (!message.includes("no Multiboot2 header")) throw new Error(message);
 * ```
 */
export function readMultibootKernel(
  kernel: Uint8Array,
  path: string,
  version: 1 | 2,
  haveEfi: boolean,
): MultibootKernel {
  if (version === 1) {
    const h = parseMultiboot1Header(kernel, path);
    const layout = h.addresses
      ? layoutFromAddressFields(kernel, path, h.offset, h.addresses, h.addresses.entryAddr)
      : layoutFromElf(kernel, path);
    return {
      magic: MULTIBOOT_BOOTLOADER_MAGIC,
      layout,
      wantsEfi: false,
      notes: [`Multiboot header at ${hex(h.offset)}, flags ${hex(h.flags)}`],
    };
  }
  const h = parseMultiboot2Header(kernel, path);
  let layout: KernelLayout;
  if (h.addresses) {
    if (h.entryAddr === undefined) {
      throw new KexecError(
        `kernel ${path}: its Multiboot2 header has an address tag but no entry address tag`,
        { hint: "a non-ELF Multiboot2 image needs both (specification 3.1.5, 3.1.6)" },
      );
    }
    layout = layoutFromAddressFields(kernel, path, h.offset, h.addresses, h.entryAddr);
  } else {
    layout = layoutFromElf(kernel, path, h.entryAddr);
  }
  const notes = [
    `Multiboot2 header at ${hex(h.offset)}; information requested: ` +
    (h.requests.map((r) => `${r.type}${r.required ? "" : "?"}`).join(", ") || "none"),
    ...checkInformationRequests(h.requests, path, haveEfi),
  ];
  if (h.ignored.length) notes.push(`optional header tags not honoured: ${h.ignored.join(", ")}`);
  const wantsEfi = h.requests.some((r) => r.type === MB2_TAG.EFI32 || r.type === MB2_TAG.EFI64);
  return {
    magic: MULTIBOOT2_BOOTLOADER_MAGIC,
    layout,
    relocatable: h.relocatable,
    wantsEfi,
    notes,
  };
}

/**
 * The format's check before any system call: everything the planner would
 * refuse in the image itself.
 *
 * @example
 * ```ts
 * import { checkMultiboot } from "./kernel.ts";
 * let message = "";
 * try {
 *   checkMultiboot(1, { bytes: new Uint8Array(64), path: "/xen", cmdlineLength: 0,
 *     wideUserAddresses: false, pageSize: 4096 });
 * } catch (e) { message = (e as Error).message; }
 * if (!message.includes("/xen")) throw new Error(message);
 * ```
 */
export function checkMultiboot(version: 1 | 2, input: ImageCheckInput): ImageCheck {
  const facts = readMultibootKernel(input.bytes, input.path, version, true);
  return {
    notes: [
      ...facts.notes,
      `kernel layout: ${facts.layout.source}, entry 0x${facts.layout.entry.toString(16)}`,
    ],
    fitsFileLoad: true,
    fitsSegmentLoad: true,
  };
}
