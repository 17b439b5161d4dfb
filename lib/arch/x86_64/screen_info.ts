/**
 * boot_params `screen_info` for a firmware framebuffer
 * (include/uapi/linux/screen_info.h, Documentation/arch/x86/zero-page.rst).
 *
 * On UEFI machines the kernel's EFI stub describes the GOP framebuffer there
 * (`orig_video_isVGA` = VIDEO_TYPE_EFI), and the next kernel's efifb or
 * simpledrm draws the console on it until a native driver takes over. The
 * kernel's own loader copies its live `screen_info`
 * (arch/x86/kernel/kexec-bzimage64.c, setup_boot_parameters); kexec-tools
 * rebuilds it from /dev/fb0 when that is efifb or vesafb
 * (kexec/arch/i386/x86-linux-setup.c, setup_linux_vesafb).
 *
 * Here: the running kernel's boot_params copy (the firmware's description) is
 * passed for the two framebuffer types, EFI and VESA linear; when efifb or
 * vesafb holds the framebuffer (its /proc/iomem resource), that resource's
 * start is the live address, so a BAR the PCI core moved is followed. Other
 * types (VGA text mode, none) stay zero, as before: a text console probes its
 * own hardware. `ext_mem_k` and the legacy command-line magic are cleared, as
 * the kernel's loader does.
 *
 * @module
 */

import { hex } from "../../format.ts";
import { findIomem, type IomemNode } from "../../memory/iomem.ts";

/** `struct screen_info` offsets used here (include/uapi/linux/screen_info.h). */
export const SCREEN_INFO = {
  /** u16: KiB of memory above 1 MiB (legacy). */
  extMemK: 0x02,
  /** u8: video type, VIDEO_TYPE_*. */
  origVideoIsVga: 0x0f,
  /** u32: framebuffer physical address, low half. */
  lfbBase: 0x18,
  /** u16: legacy command-line magic 0xA33F. */
  clMagic: 0x20,
  /** u16: legacy command-line offset. */
  clOffset: 0x22,
  /** u32: VIDEO_CAPABILITY_* bits. */
  capabilities: 0x36,
  /** u32: framebuffer physical address, high half (with VIDEO_CAPABILITY_64BIT_BASE). */
  extLfbBase: 0x3a,
  /** Size of the structure at boot_params offset 0. */
  length: 0x40,
} as const;

/** `orig_video_isVGA` values of firmware framebuffers. */
export const VIDEO_TYPE = { VLFB: 0x23, EFI: 0x70 } as const;
/** `capabilities` bit: the base has a high half in ext_lfb_base. */
export const VIDEO_CAPABILITY_64BIT_BASE = 1 << 1;

/** /proc/iomem names of the drivers that map the firmware framebuffer. */
const FRAMEBUFFER_RESOURCES = ["efifb", "vesafb"];

/** What to write at boot_params offset 0, and why. */
export interface ScreenInfoPlan {
  /** The 64 bytes, or undefined to leave them zero. */
  readonly bytes?: Uint8Array;
  readonly note: string;
}

/**
 * True when the running boot_params describe a firmware framebuffer (then
 * {@link planScreenInfo} wants /proc/iomem to find its live address).
 *
 * @example
 * ```ts
 * import { hasFirmwareFramebuffer } from "./screen_info.ts";
 * const running = new Uint8Array(4096);
 * running[0x0f] = 0x70;
 * if (!hasFirmwareFramebuffer(running) || hasFirmwareFramebuffer(undefined)) throw new Error();
 * ```
 */
export function hasFirmwareFramebuffer(running: Uint8Array | undefined): boolean {
  const type = running?.[SCREEN_INFO.origVideoIsVga];
  return type === VIDEO_TYPE.EFI || type === VIDEO_TYPE.VLFB;
}

/**
 * The `screen_info` for the next kernel from the running boot_params and
 * /proc/iomem.
 *
 * @example
 * ```ts
 * import { planScreenInfo } from "./screen_info.ts";
 * import { parseIomem } from "../../memory/iomem.ts";
 * const running = new Uint8Array(4096);
 * running[0x0f] = 0x70;
 * new DataView(running.buffer).setUint32(0x18, 0x80000000, true);
 * const iomem = parseIomem("c0000000-febfffff : PCI Bus 0000:00\n  c0000000-c03e7fff : efifb\n");
 * const plan = planScreenInfo(running, iomem);
 * if (new DataView(plan.bytes!.buffer).getUint32(0x18, true) !== 0xc0000000) throw new Error(plan.note);
 * ```
 */
export function planScreenInfo(
  running: Uint8Array | undefined,
  iomem: readonly IomemNode[] | undefined,
): ScreenInfoPlan {
  if (!running || running.length < SCREEN_INFO.length) {
    return { note: "screen_info: left zero (the running boot_params are unreadable)" };
  }
  const type = running[SCREEN_INFO.origVideoIsVga];
  if (!hasFirmwareFramebuffer(running)) {
    return { note: `screen_info: left zero (video type ${hex(type)} is no firmware framebuffer)` };
  }
  const bytes = running.slice(0, SCREEN_INFO.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(SCREEN_INFO.extMemK, 0, true);
  view.setUint16(SCREEN_INFO.clMagic, 0, true);
  view.setUint16(SCREEN_INFO.clOffset, 0, true);
  const name = type === VIDEO_TYPE.EFI ? "EFI" : "VESA";
  const boot = framebufferBase(view);
  const live = FRAMEBUFFER_RESOURCES.flatMap((n) => findIomem(iomem ?? [], n))[0];
  if (!live || live.start === boot) {
    return { bytes, note: `screen_info: the ${name} framebuffer at ${hex(boot)}, as booted` };
  }
  setFramebufferBase(view, live.start);
  return {
    bytes,
    note: `screen_info: the ${name} framebuffer, moved from ${hex(boot)} to ${hex(live.start)} ` +
      `(${live.name} in /proc/iomem)`,
  };
}

function framebufferBase(view: DataView): number {
  const high = view.getUint32(SCREEN_INFO.capabilities, true) & VIDEO_CAPABILITY_64BIT_BASE
    ? view.getUint32(SCREEN_INFO.extLfbBase, true)
    : 0;
  return high * 2 ** 32 + view.getUint32(SCREEN_INFO.lfbBase, true);
}

function setFramebufferBase(view: DataView, base: number): void {
  const high = Math.floor(base / 2 ** 32);
  view.setUint32(SCREEN_INFO.lfbBase, base % 2 ** 32, true);
  view.setUint32(SCREEN_INFO.extLfbBase, high, true);
  const caps = view.getUint32(SCREEN_INFO.capabilities, true);
  view.setUint32(
    SCREEN_INFO.capabilities,
    high ? caps | VIDEO_CAPABILITY_64BIT_BASE : caps & ~VIDEO_CAPABILITY_64BIT_BASE,
    true,
  );
}
