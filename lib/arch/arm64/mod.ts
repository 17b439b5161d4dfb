/**
 * arm64: its ABI and the kernel formats it boots.
 *
 * @module
 */

import type { Architecture } from "../types.ts";
import { ARM64_ABI } from "./abi.ts";
import { AARCH64_CLI } from "./cli.ts";
import { ARM64_IMAGE } from "./format_image.ts";

/**
 * The arm64 architecture.
 *
 * @example
 * ```ts
 * import { ARM64 } from "./mod.ts";
 * if (ARM64.formats[0].name !== "Image") throw new Error();
 * ```
 */
export const ARM64: Architecture = { ...ARM64_ABI, formats: [ARM64_IMAGE], cli: AARCH64_CLI };
