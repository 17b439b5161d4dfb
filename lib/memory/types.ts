/**
 * Physical memory as planners see it.
 *
 * @module
 */

/**
 * Kinds of physical memory, from /sys/firmware/memmap or /proc/iomem. They map
 * 1:1 to e820 types on x86 (arch/x86/include/asm/e820/types.h).
 */
export type MemoryKind =
  | "ram"
  | "reserved"
  | "acpi"
  | "nvs"
  | "unusable"
  | "pmem"
  | "pram"
  | "soft-reserved";

/** A physical address range, end exclusive. Addresses fit a JS number (< 2^53). */
export interface MemoryRange {
  /** First address of the range. */
  readonly start: number;
  /** First address after the range. */
  readonly end: number;
  /** What the memory is. */
  readonly kind: MemoryKind;
}
