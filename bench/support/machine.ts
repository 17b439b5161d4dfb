/**
 * What a benchmark table was measured on: CPU (from lscpu), kernel, deno,
 * date and load average.
 *
 * @module
 */

import { run } from "../../scripts/test-assets/common.ts";

/**
 * One paragraph naming the machine and the moment.
 *
 * @example
 * ```ts
 * import { machineSummary } from "./machine.ts";
 * const s = await machineSummary();
 * if (!s.includes("deno") || !s.includes("load average")) throw new Error(s);
 * ```
 */
export async function machineSummary(): Promise<string> {
  const lscpu = (await run("lscpu", [])).out;
  const field = (name: string) =>
    lscpu.match(new RegExp(`^${name}:\\s*(.+)$`, "m"))?.[1].trim() ?? "?";
  const flags = field("Flags").split(/\s+/);
  const features = ["sha_ni", "avx2", "avx512f"].filter((f) => flags.includes(f));
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  const mem = Deno.readTextFileSync("/proc/meminfo").match(/^MemTotal:\s+(\d+)/m)?.[1];
  return [
    `${field("Model name")} (${field("Vendor ID")}), ${field("CPU\\(s\\)")} CPUs ` +
    `(${field("Thread\\(s\\) per core")} thread per core), ${features.join(" ")}; ` +
    `${Math.round(Number(mem) / 2 ** 20)} GiB RAM; ${field("Hypervisor vendor")} hypervisor`,
    `Linux ${Deno.osRelease()}, deno ${Deno.version.deno} (V8 ${Deno.version.v8}); ` +
    `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC; load average ${load} ` +
    "before the run (the machine is shared)",
  ].join("\n");
}
