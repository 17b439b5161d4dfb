/**
 * Every ordered pair of kexec-tools' action options, and of its syscall-mode
 * options, against what kexec-tools 2.0.32 does with them: its main()
 * (kexec/kexec.c) sets and clears do_load, do_exec, do_sync, do_ifdown,
 * do_unload, do_load_jump_back_helper and kexec_flags per option, in order,
 * then runs status → unload → load → guard → shutdown → sync → ifdown → exec
 * → jump-back helper. The expected plans are written out by hand from that
 * source (tests/support/plan.ts vocabulary); where this tool differs the row
 * names the README entry. The pairs run with `-c` and `--mem-max`, so that
 * kexec-tools' kexec_file_load-only refusals of KEXEC_PRESERVE_CONTEXT do not
 * hide the state machine; those refusals have rows of their own.
 */

import assert from "node:assert/strict";
import { parseInvocation } from "../../lib/cli/invocation.ts";
import { type Difference, DIFFERENCES, planOf } from "../support/plan.ts";

const K = "/boot/vmlinuz";
const README = Deno.readTextFileSync(new URL("../../README.md", import.meta.url));

const ACTIONS = [
  "-l",
  "-p",
  "-e",
  "-f",
  "-u",
  "-S",
  "--load-preserve-context",
  "--load-jump-back-helper",
] as const;
type Action = typeof ACTIONS[number];

const SYNC: Difference = "sync-before-exec";
const REFUSED: Difference = "refused-combination";

/**
 * kexec-tools' plan for `kexec -c A B KERNEL --mem-max=0x10000000`, and ours
 * where it differs. A jump-back helper after an exec is left out: main()
 * reaches it only when the exec returned 0, which never happens.
 */
const PAIRS: Record<`${Action} ${Action}`, [string] | [string, string, Difference]> = {
  "-l -p": ["load(crash)"],
  "-p -l": ["load(crash)"],
  "-l -e": ["guard sync ifdown exec"],
  "-e -l": ["load sync ifdown", "load", SYNC],
  "-l -f": ["load guard sync ifdown exec"],
  "-f -l": ["load sync ifdown", "load", SYNC],
  "-l -u": ["unload"],
  "-u -l": ["unload load"],
  "-l -S": ["status(normal)"],
  "-S -l": ["status(normal)"],
  "-l --load-preserve-context": ["load(preserve) sync", "load(preserve)", SYNC],
  "--load-preserve-context -l": ["load(preserve) sync", "load(preserve)", SYNC],
  "-l --load-jump-back-helper": ["sync ifdown jbh", "jbh", SYNC],
  "--load-jump-back-helper -l": ["load(preserve) sync ifdown jbh", "exit 1", REFUSED],
  "-p -e": ["guard sync ifdown exec"],
  "-e -p": ["load(crash) ifdown", "load(crash)", SYNC],
  "-p -f": ["load(crash) guard sync ifdown exec"],
  "-f -p": ["load(crash) ifdown", "load(crash)", SYNC],
  "-p -u": ["unload(crash)"],
  "-u -p": ["unload(crash) load(crash)"],
  "-p -S": ["status(crash)"],
  "-S -p": ["status(crash)"],
  "-p --load-preserve-context": ["load(preserve) sync", "exit 1", REFUSED],
  "--load-preserve-context -p": ["load(crash)"],
  "-p --load-jump-back-helper": ["sync ifdown jbh", "jbh", SYNC],
  "--load-jump-back-helper -p": ["load(crash) ifdown jbh", "exit 1", REFUSED],
  "-e -f": ["load guard sync ifdown exec"],
  "-f -e": ["guard sync ifdown exec"],
  "-e -u": ["unload guard ifdown exec"],
  "-u -e": ["unload guard sync ifdown exec"],
  "-e -S": ["status(crash)"],
  "-S -e": ["status(crash)"],
  "-e --load-preserve-context": ["load(preserve) sync ifdown", "load(preserve)", SYNC],
  "--load-preserve-context -e": ["guard sync ifdown exec"],
  "-e --load-jump-back-helper": ["sync ifdown jbh", "jbh", SYNC],
  "--load-jump-back-helper -e": ["guard sync ifdown exec"],
  "-f -u": ["unload guard ifdown exec"],
  "-u -f": ["unload load guard sync ifdown exec"],
  "-f -S": ["status(crash)"],
  "-S -f": ["status(crash)"],
  "-f --load-preserve-context": ["load(preserve) sync ifdown", "load(preserve)", SYNC],
  "--load-preserve-context -f": ["load(preserve) guard sync ifdown exec"],
  "-f --load-jump-back-helper": ["sync ifdown jbh", "jbh", SYNC],
  "--load-jump-back-helper -f": ["load(preserve) guard sync ifdown exec", "exit 1", REFUSED],
  "-u -S": ["status(crash)"],
  "-S -u": ["status(crash)"],
  "-u --load-preserve-context": ["unload load(preserve) sync", "unload load(preserve)", SYNC],
  "--load-preserve-context -u": ["unload"],
  "-u --load-jump-back-helper": ["unload sync ifdown jbh", "unload jbh", SYNC],
  "--load-jump-back-helper -u": ["unload ifdown jbh", "unload jbh", SYNC],
  "-S --load-preserve-context": ["status(normal)"],
  "--load-preserve-context -S": ["status(normal)"],
  "-S --load-jump-back-helper": ["status(normal)"],
  "--load-jump-back-helper -S": ["status(normal)"],
  "--load-preserve-context --load-jump-back-helper": ["sync ifdown jbh", "jbh", SYNC],
  "--load-jump-back-helper --load-preserve-context": [
    "load(preserve) sync ifdown jbh",
    "exit 1",
    REFUSED,
  ],
} as Record<`${Action} ${Action}`, [string] | [string, string, Difference]>;

Deno.test("the matrix has every ordered pair of distinct action options", () => {
  const expected = ACTIONS.flatMap((a) => ACTIONS.filter((b) => b !== a).map((b) => `${a} ${b}`));
  assert.deepEqual(Object.keys(PAIRS).sort(), expected.sort());
  assert.equal(expected.length, 56);
});

for (const [pair, [kexecTools, ours, why]] of Object.entries(PAIRS)) {
  Deno.test(`option order: kexec -c ${pair} KERNEL → ${ours ?? kexecTools}`, () => {
    const argv = ["-c", ...pair.split(" "), K, "--mem-max=0x10000000"];
    const plan = planOf(argv);
    assert.equal(plan, ours ?? kexecTools, `kexec-tools: ${kexecTools}`);
    if (why) assert.ok(README.includes(DIFFERENCES[why]), `README: ${why}`);
  });
}

// -s, -c and -a each set both do_kexec_file_syscall and do_kexec_fallback: the last wins.
const MODES = { "-s": "file", "-c": "load", "-a": "auto" } as const;
for (const a of Object.keys(MODES) as (keyof typeof MODES)[]) {
  for (const b of Object.keys(MODES) as (keyof typeof MODES)[]) {
    if (a === b) continue;
    for (const action of [["-l", K], ["-p", K], ["-u"], ["-e"]]) {
      Deno.test(`option order: kexec ${a} ${b} ${action.join(" ")} uses ${MODES[b]}`, () => {
        assert.equal(parseInvocation([a, b, ...action], "x86_64").syscall, MODES[b]);
        assert.equal(parseInvocation([a, ...action, b], "x86_64").syscall, MODES[b]);
      });
    }
  }
}

// KEXEC_PRESERVE_CONTEXT cannot go through kexec_file_load. kexec-tools dies
// (exit 1) with -s, and since 2.0.27 also in its default mode; here the
// default mode uses kexec_load instead.
const PRESERVE: [string[], string, string, Difference?][] = [
  [["-s", "--load-preserve-context", K, "--mem-max=0x10000000"], "exit 1", "exit 1"],
  [["--load-preserve-context", "-s", K, "--mem-max=0x10000000"], "exit 1", "exit 1"],
  [["-s", "--load-jump-back-helper", "--entry=0x1000"], "exit 1", "exit 1"],
  [
    ["--load-preserve-context", "-c", K, "--mem-max=0x10000000"],
    "load(preserve) sync",
    "load(preserve)",
    SYNC,
  ],
  [["--load-preserve-context", K, "--mem-max=0x10000000"], "exit 1", "load(preserve)", SYNC],
  [["--load-jump-back-helper", "--entry=0x1000"], "exit 1", "jbh", "preserve-kexec-load"],
  [["--load-preserve-context", K], "exit 1", "exit 1"],
];
for (const [argv, kexecTools, ours, why] of PRESERVE) {
  Deno.test(`preserve context: kexec ${argv.join(" ")} → ${ours || kexecTools}`, () => {
    assert.equal(planOf(argv), ours || kexecTools, `kexec-tools: ${kexecTools}`);
    if (why) assert.ok(README.includes(DIFFERENCES[why]), `README: ${why}`);
  });
}

Deno.test("the default mode loads KEXEC_PRESERVE_CONTEXT with kexec_load", () => {
  const inv = parseInvocation(["--load-preserve-context", K, "--mem-max=0x10000000"], "x86_64");
  assert.equal(inv.syscall, "load");
  assert.equal(
    parseInvocation(["--load-jump-back-helper", "--entry=0x1000"], "x86_64").syscall,
    "load",
  );
  assert.equal(parseInvocation(["-l", K], "x86_64").syscall, "auto");
});
