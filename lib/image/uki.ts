/**
 * Unified Kernel Images (UAPI Group "Unified Kernel Image" specification): a
 * PE file whose `.linux` section holds the kernel, with an optional `.initrd`,
 * `.ucode` (a microcode initrd that goes before every other one), `.cmdline`,
 * `.osrel` and `.uname`. Multi-profile UKIs split the section table at each
 * `.profile` section: the sections before the first one are the base
 * profile, and a selected profile's sections override the base's of the same
 * name; profile 0 is the default, and is implied when the UKI has no
 * `.profile` at all (systemd src/boot/pe.c `pe_locate_profile_sections`,
 * src/boot/stub.c `find_sections`).
 *
 * Every section is a view of the mapped file; nothing is copied.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { size } from "../format.ts";
import { peMachineName } from "./magic.ts";
import { hasMzHeader, parsePe, type PeFile, type PeSection, sectionBytes } from "./pe.ts";
import type { EmbeddedPart, WrapperFormat } from "./types.ts";
import { ZBOOT } from "./zboot.ts";

/** The sections this loader uses, in the specification's canonical order. */
export const UKI_SECTIONS = [".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".uname"];

/** Which section of each name a profile uses, and where it came from. */
export interface ProfileSelection {
  /** The profile used (0 when the UKI has no `.profile` sections). */
  readonly profile: number;
  /** How many profiles the UKI defines (0 when none). */
  readonly profiles: number;
  /** The selected profile's `.profile` section, when it has one. */
  readonly profileSection?: PeSection;
  /** Section name → the section used and "base" or "@N". */
  readonly sections: ReadonlyMap<string, { section: PeSection; from: string }>;
}

/**
 * Picks the sections of `profile` as systemd-stub does: the base profile's
 * first section of each name, replaced by the selected profile's first one.
 * Throws when the profile does not exist (profile 0 exists implicitly).
 *
 * @example
 * ```ts
 * import { selectProfile } from "./uki.ts";
 * const s = (name: string, index: number) => ({ name, index, virtualSize: 1,
 *   virtualAddress: 0, sizeOfRawData: 1, pointerToRawData: 0 });
 * const pe = { machine: 0x8664, sections: [s(".linux", 0), s(".cmdline", 1), s(".profile", 2),
 *   s(".profile", 3), s(".cmdline", 4)] };
 * const one = selectProfile(pe, 1, "k.efi");
 * if (one.sections.get(".cmdline")?.section.index !== 4) throw new Error();
 * if (selectProfile(pe, 0, "k.efi").sections.get(".cmdline")?.from !== "base") throw new Error();
 * ```
 */
export function selectProfile(pe: PeFile, profile: number, path: string): ProfileSelection {
  const starts = pe.sections.filter((s) => s.name === ".profile").map((s) => s.index);
  if (profile >= starts.length && profile !== 0) {
    throw new KexecError(
      `UKI ${path} has ${
        starts.length === 0 ? "no profiles" : `profiles @0..@${starts.length - 1}`
      }, not @${profile}`,
      { hint: "choose an existing profile with --uki-profile, or drop the option" },
    );
  }
  const end = (i: number) => starts[i + 1] ?? pe.sections.length;
  const base = pe.sections.slice(0, starts[0] ?? pe.sections.length);
  const own = profile < starts.length ? pe.sections.slice(starts[profile] + 1, end(profile)) : [];
  const sections = new Map<string, { section: PeSection; from: string }>();
  for (const name of UKI_SECTIONS) {
    const mine = own.find((s) => s.name === name);
    const inherited = base.find((s) => s.name === name);
    if (mine) sections.set(name, { section: mine, from: `@${profile}` });
    else if (inherited) sections.set(name, { section: inherited, from: "base" });
  }
  return {
    profile,
    profiles: starts.length,
    profileSection: profile < starts.length ? pe.sections[starts[profile]] : undefined,
    sections,
  };
}

/**
 * The `.cmdline` text as systemd-stub passes it (src/boot/util.c
 * `mangle_stub_cmdline`): up to the first NUL, control characters and DEL
 * turned into spaces, leading and trailing white space removed.
 *
 * @example
 * ```ts
 * import { stubCmdline } from "./uki.ts";
 * const out = stubCmdline(new TextEncoder().encode(" quiet\troot=/dev/vda\n\0junk"));
 * if (new TextDecoder().decode(out) !== "quiet root=/dev/vda") throw new Error();
 * ```
 */
export function stubCmdline(section: Uint8Array): Uint8Array {
  const nul = section.indexOf(0);
  const text = section.slice(0, nul < 0 ? section.length : nul);
  for (let i = 0; i < text.length; i++) if (text[i] <= 0x20 || text[i] === 0x7f) text[i] = 0x20;
  let start = 0;
  let end = text.length;
  while (start < end && text[start] === 0x20) start++;
  while (end > start && text[end - 1] === 0x20) end--;
  return text.subarray(start, end);
}

function probe(bytes: Uint8Array): boolean {
  if (!hasMzHeader(bytes) || ZBOOT.probe(bytes)) return false;
  try {
    return parsePe(bytes, "").sections.some((s) => s.name === ".linux");
  } catch {
    return false;
  }
}

// KEY=value lines of .osrel/.profile (os-release(5) syntax), for the notes.
function field(bytes: Uint8Array | undefined, key: string): string | undefined {
  if (!bytes) return undefined;
  const text = new TextDecoder().decode(bytes.subarray(0, 4096));
  const m = new RegExp(`^${key}=(.*)$`, "m").exec(text);
  return m ? m[1].trim().replace(/^(["'])(.*)\1$/, "$2") : undefined;
}

function describe(
  pe: PeFile,
  pick: ProfileSelection,
  data: (name: string) => Uint8Array | undefined,
  profileText: Uint8Array | undefined,
): string {
  const used = [...pick.sections].map(([name, { section, from }]) =>
    `${name} ${size(Math.min(section.virtualSize, section.sizeOfRawData))} (${from})`
  );
  const id = field(profileText, "ID");
  const title = field(profileText, "TITLE");
  const profile = pick.profiles === 0
    ? "no profiles"
    : `profile @${pick.profile} of ${pick.profiles}` + (id ? ` (ID=${id})` : "") +
      (title ? ` "${title}"` : "");
  const os = field(data(".osrel"), "PRETTY_NAME");
  const uname = data(".uname");
  return `UKI for ${peMachineName(pe.machine)}, ${profile}; sections used: ${used.join(", ")}` +
    (os ? `; OS "${os}"` : "") +
    (uname ? `; uname ${new TextDecoder().decode(uname).trim()}` : "");
}

/**
 * The UKI wrapper: `.linux` is the kernel, `.ucode` then `.initrd` the
 * embedded initrds, `.cmdline` the embedded command line.
 *
 * @example
 * ```ts
 * import { UKI } from "./uki.ts";
 * if (UKI.probe(new Uint8Array(4096))) throw new Error("zeros are no UKI");
 * ```
 */
export const UKI: WrapperFormat = {
  name: "UKI",
  typeNames: ["uki"],
  probe,
  unwrap(bytes, path, options) {
    const pe = parsePe(bytes, `UKI ${path}`);
    const pick = selectProfile(pe, options.ukiProfile ?? 0, path);
    const data = (name: string) => {
      const s = pick.sections.get(name);
      return s ? sectionBytes(bytes, s.section, `UKI ${path}`) : undefined;
    };
    const kernel = data(".linux");
    if (!kernel || kernel.length === 0) {
      throw new KexecError(
        `UKI ${path} has ${kernel ? "an empty" : "no"} .linux section in profile @${pick.profile}`,
        { hint: "the UKI is broken; rebuild it (ukify build)" },
      );
    }
    const initrds: EmbeddedPart[] = [];
    for (const name of [".ucode", ".initrd"]) {
      const part = data(name);
      if (part && part.length > 0) initrds.push({ name: `${path}:${name}`, bytes: part });
    }
    const cmdline = data(".cmdline");
    return {
      kernel,
      initrds,
      cmdline: cmdline === undefined ? undefined : stubCmdline(cmdline),
      note: describe(
        pe,
        pick,
        data,
        pick.profileSection && sectionBytes(bytes, pick.profileSection, `UKI ${path}`),
      ),
    };
  },
};
