/**
 * Small parsers of host text: the facts files (lockdown, CapEff, sysfs flags
 * and integers, the SecureBoot efivar), /sys/firmware/efi/systab's ACPI RSDP
 * and the kexec jump-back entry on /proc/cmdline.
 *
 * @module
 */

import { rsdpFromEfiSystab } from "../../../lib/arch/x86_64/efi_systab.ts";
import {
  parseCapSysBoot,
  parseFlag,
  parseInitialUserNamespace,
  parseInteger,
  parseLockdown,
  parseSecureBoot,
} from "../../../lib/facts.ts";
import { jumpBackEntryFromCmdline } from "../../../lib/kjump.ts";
import { mutateText } from "../mutate_text.ts";
import { seedText } from "../seeds.ts";
import { check, checkInteger, defineTarget } from "../target.ts";

const FACT_SEEDS = [
  "0\n",
  "1\n",
  "-1\n",
  "268435456\n",
  "[none] integrity confidentiality\n",
  "none [integrity] confidentiality\n",
  "none integrity [confidentiality]\n",
  "\x06\x00\x00\x00\x01",
  "         0          0 4294967295\n",
  "         0       1000          1\n         1     100000      65536\n",
];
const FACT_TOKENS = ["[", "]", "none", "integrity", "CapEff:", "\t", "-", "0", "\n"];

/** The six facts parsers on the same text (and its UTF-8 bytes for SecureBoot). */
export const factsTarget = defineTarget<string>({
  name: "facts",
  entry: "lib/facts.ts parseLockdown/parseCapSysBoot/parseFlag/parseInteger/" +
    "parseInitialUserNamespace/parseSecureBoot",
  seeds: () => [...FACT_SEEDS, seedText("proc-self-status.txt")],
  mutate: (rng, seed, seeds) => mutateText(rng, seed, FACT_TOKENS, seeds),
  run(text) {
    const n = parseInteger(text);
    if (n !== undefined) {
      checkInteger(n, "parseInteger result", Number.MIN_SAFE_INTEGER);
      check(BigInt(n) === BigInt(text.trim()), `'${text.trim()}' read as ${n}`);
    }
    const flag = parseFlag(text);
    check(flag === undefined || typeof flag === "boolean", "parseFlag");
    const mode = parseLockdown(text);
    check(mode === undefined || text.includes(`[${mode}]`), "parseLockdown");
    const cap = parseCapSysBoot(text);
    check(cap === undefined || text.includes("CapEff:"), "parseCapSysBoot");
    const initial = parseInitialUserNamespace(text);
    check(typeof initial === "boolean", "parseInitialUserNamespace");
    const sb = parseSecureBoot(new TextEncoder().encode(text));
    check(sb === undefined || typeof sb === "boolean", "parseSecureBoot");
  },
});

const SYSTAB_SEEDS = [
  "ACPI20=0x7f014\nACPI=0x7f000\nSMBIOS=0x7f6e9000\n",
  "MPS=0xfc9c0\nACPI=0xe0000\nSMBIOS=0xf0000\n",
  "ACPI20=0x7ffe0014\nSMBIOS3=0x7f8d3000\nESRT=0x7f8c1018\nMEMATTR=0x7e1a4018\n",
];

/** rsdpFromEfiSystab: a found address must be exactly the digits given. */
export const efiSystabTarget = defineTarget<string>({
  name: "efi_systab",
  entry: "lib/arch/x86_64/efi_systab.ts rsdpFromEfiSystab",
  seeds: () => SYSTAB_SEEDS,
  mutate: (rng, seed, seeds) => mutateText(rng, seed, ["ACPI20=", "ACPI=", "0x", "\n"], seeds),
  run(text) {
    const rsdp = rsdpFromEfiSystab(text);
    if (rsdp !== undefined) checkInteger(rsdp, "RSDP address");
  },
});

/** jumpBackEntryFromCmdline on command lines. */
export const kjumpTarget = defineTarget<string>({
  name: "kjump_entry",
  entry: "lib/kjump.ts jumpBackEntryFromCmdline",
  seeds: () => [
    "quiet kexec_jump_back_entry=0x1234\n",
    `${seedText("cmdline-host.txt").trim()} kexec_jump_back_entry=0x7ffff000`,
    'root=/dev/vda "kexec_jump_back_entry=0x1" kexec_jump_back_entry=0x2',
  ],
  mutate: (rng, seed, seeds) =>
    mutateText(rng, seed, ["kexec_jump_back_entry=", "0x", '"', " "], seeds),
  run(text) {
    const entry = jumpBackEntryFromCmdline(text);
    if (entry !== undefined) checkInteger(entry, "jump-back entry");
  },
});
