/**
 * The value of `--extra-file`, parsed while the command line is read (the
 * archive itself is written by compose.ts when a load needs it).
 *
 * @module
 */

/**
 * Parses `--extra-file HOST[:GUEST]`: GUEST is the text after the last ":"
 * when it is an absolute path; otherwise the whole value is HOST and the file
 * keeps its path.
 *
 * @example
 * ```ts
 * import { parseExtraFile } from "./extra_file.ts";
 * const a = parseExtraFile("/root/.ssh/id.pub:/etc/ssh/keys/root");
 * if (a.host !== "/root/.ssh/id.pub" || a.guest !== "/etc/ssh/keys/root") throw new Error();
 * if (parseExtraFile("/etc/hostname").guest !== "/etc/hostname") throw new Error();
 * ```
 */
export function parseExtraFile(value: string): { host: string; guest: string } {
  const colon = value.lastIndexOf(":");
  if (colon > 0 && value[colon + 1] === "/") {
    return { host: value.slice(0, colon), guest: value.slice(colon + 1) };
  }
  return { host: value, guest: value };
}
