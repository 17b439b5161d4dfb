/** errno → cause and advice, for every errno the kexec man pages and kernels produce. */

import assert from "node:assert/strict";
import { explainErrno, type FailureContext, syscallError } from "../../lib/diagnose.ts";
import type { HostFacts } from "../../lib/facts.ts";
import { Errno } from "../../lib/sys/errno.ts";

function ctx(call: FailureContext["call"], facts: HostFacts = {}, crash = false): FailureContext {
  const syscall = call === "reboot" ? "reboot" : call === "unload" ? "kexec_file_load" : call;
  return { call, syscall, crash, facts };
}

const TABLE: [string, number, FailureContext, RegExp, RegExp][] = [
  [
    "EPERM no capability",
    Errno.EPERM,
    ctx("kexec_load", { capSysBoot: false }),
    /CAP_SYS_BOOT/,
    /root/,
  ],
  [
    "EPERM kexec_load_disabled",
    Errno.EPERM,
    ctx("kexec_file_load", { capSysBoot: true, kexecLoadDisabled: true }),
    /kexec_load_disabled=1/,
    /sysctl.kernel.kexec_load_disabled=0/,
  ],
  [
    "EPERM limit exhausted",
    Errno.EPERM,
    ctx("kexec_load", { loadLimitPanic: 0 }, true),
    /kexec_load_limit_panic is exhausted/,
    /reboot/,
  ],
  [
    "EPERM lockdown kexec_load",
    Errno.EPERM,
    ctx("kexec_load", { lockdown: "integrity" }),
    /locked down \(integrity\): kexec_load of unsigned images/,
    /signed.*-s/,
  ],
  [
    "EPERM lockdown file load",
    Errno.EPERM,
    ctx("kexec_file_load", { lockdown: "confidentiality" }),
    /locked down \(confidentiality\).*signature/,
    /MOK/,
  ],
  [
    "EPERM unexplained",
    Errno.EPERM,
    ctx("kexec_file_load"),
    /no lockdown, sysctl or capability/,
    /dmesg/,
  ],
  ["EACCES IMA", Errno.EACCES, ctx("kexec_load"), /IMA/, /kexec_file_load/],
  ["ENOSYS file", Errno.ENOSYS, ctx("kexec_file_load"), /CONFIG_KEXEC_FILE/, /-c/],
  ["ENOSYS load", Errno.ENOSYS, ctx("kexec_load"), /without CONFIG_KEXEC /, /-s/],
  ["EINVAL file", Errno.EINVAL, ctx("kexec_file_load"), /unknown flag/, /-d/],
  [
    "EINVAL load",
    Errno.EINVAL,
    ctx("kexec_load"),
    /overlapping segments.*half of RAM/,
    /segment table/,
  ],
  ["EINVAL reboot", Errno.EINVAL, ctx("reboot"), /no kexec image is loaded.*PID namespace/, /-l/],
  ["ENOEXEC", Errno.ENOEXEC, ctx("kexec_file_load"), /does not accept this image/, /-c/],
  ["EKEYREJECTED", Errno.EKEYREJECTED, ctx("kexec_file_load"), /not trusted/, /MOK/],
  ["ENOKEY", Errno.ENOKEY, ctx("kexec_file_load"), /not trusted/, /MOK/],
  ["EBADMSG", Errno.EBADMSG, ctx("kexec_file_load"), /malformed/, /re-sign/],
  ["ENODATA", Errno.ENODATA, ctx("kexec_file_load"), /not signed/, /sign/],
  ["EBUSY", Errno.EBUSY, ctx("kexec_load"), /kexec lock/, /retry/],
  ["ENOMEM", Errno.ENOMEM, ctx("kexec_load"), /could not allocate/, /free RAM/],
  [
    "EADDRNOTAVAIL crash",
    Errno.EADDRNOTAVAIL,
    ctx("kexec_file_load", {}, true),
    /crash region/,
    /crashkernel=/,
  ],
  ["EADDRNOTAVAIL normal", Errno.EADDRNOTAVAIL, ctx("kexec_load"), /unaligned/, /-d/],
  ["ETXTBSY", Errno.ETXTBSY, ctx("kexec_file_load"), /open for writing/, /close/],
  ["EFBIG", Errno.EFBIG, ctx("kexec_file_load"), /larger than/, /smaller/],
  ["EBADF", Errno.EBADF, ctx("kexec_file_load"), /descriptor/, /bug/],
  ["EOPNOTSUPP", Errno.EOPNOTSUPP, ctx("kexec_file_load"), /does not support/, /-c/],
];

for (const [name, errno, c, cause, hint] of TABLE) {
  Deno.test(`diagnosis: ${name}`, () => {
    const e = explainErrno(errno, c);
    assert.match(e.cause, cause);
    assert.match(e.hint, hint);
  });
}

Deno.test("syscallError: syscall, errno name and text, cause, on one line", () => {
  const e = syscallError(Errno.EPERM, ctx("kexec_load", { lockdown: "integrity" }));
  assert.equal(e.syscall, "kexec_load");
  assert.equal(e.errno, 1);
  assert.equal(e.exitCode, 255);
  assert.match(
    e.message,
    /^kexec_load failed: EPERM \(Operation not permitted\): the kernel is locked/,
  );
  assert.ok(!e.message.includes("\n"));
  const u = syscallError(Errno.EPERM, ctx("unload"));
  assert.match(u.message, /^kexec_file_load\(unload\) failed/);
});
