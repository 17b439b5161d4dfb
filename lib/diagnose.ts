/**
 * Turns an errno from a kexec system call into what happened and what to do,
 * using the host facts (lockdown, sysctls, capabilities) to tell apart the
 * causes that share an errno (kexec_load(2) ERRORS; kernel/kexec.c
 * kexec_load_check, kernel/kexec_file.c, kernel/kexec_core.c
 * kexec_load_permitted, security/lockdown/lockdown.c,
 * security/integrity/ima/ima_main.c).
 *
 * @module
 */

import { PATHS } from "./abi.ts";
import { ExitCode, KexecError } from "./errors.ts";
import type { HostFacts } from "./facts.ts";
import { describeErrno, Errno } from "./sys/errno.ts";

/** The kind of call that failed. */
export type KexecCall = "kexec_file_load" | "kexec_load" | "unload" | "reboot";

/** What is known about the failed call. */
export interface FailureContext {
  /** Which call failed. */
  readonly call: KexecCall;
  /** The syscall actually made (for unload: either load syscall). */
  readonly syscall: string;
  /** A crash image was meant. */
  readonly crash: boolean;
  /** Host facts read after the failure. */
  readonly facts: HostFacts;
}

/** Cause and advice for one failure. */
export interface Explanation {
  readonly cause: string;
  readonly hint: string;
}

function explainEperm(ctx: FailureContext): Explanation {
  const f = ctx.facts;
  if (f.capSysBoot === false) {
    return {
      cause: "this process lacks CAP_SYS_BOOT",
      hint: "run as root, outside a container or service sandbox that drops CAP_SYS_BOOT",
    };
  }
  if (f.initialUserNamespace === false) {
    return {
      cause: "this process runs in a user namespace (a container): CAP_SYS_BOOT there does " +
        "not count, kexec needs it in the initial user namespace",
      hint: "run kexec on the host, outside the container's user namespace",
    };
  }
  if (f.kexecLoadDisabled) {
    return {
      cause: "kexec is disabled by kernel.kexec_load_disabled=1, which cannot be undone " +
        "until reboot",
      hint: "boot with sysctl.kernel.kexec_load_disabled=0 (or without the setting that sets it)",
    };
  }
  const limit = ctx.crash ? f.loadLimitPanic : f.loadLimitReboot;
  if (limit === 0 && ctx.call !== "reboot") {
    const name = ctx.crash ? "kexec_load_limit_panic" : "kexec_load_limit_reboot";
    return {
      cause: `kernel.${name} is exhausted (0 loads left)`,
      hint: "the limit can only be lowered; reboot to reset it",
    };
  }
  const locked = f.lockdown === "integrity" || f.lockdown === "confidentiality";
  if (locked && (ctx.call === "kexec_load" || ctx.syscall === "kexec_load")) {
    return {
      cause: `the kernel is locked down (${f.lockdown}): kexec_load of unsigned images is refused`,
      hint: "use a kernel signed with a trusted key via kexec_file_load (-s)",
    };
  }
  if (locked) {
    return {
      cause: `the kernel is locked down (${f.lockdown}) and the kernel image's signature ` +
        "could not be verified",
      hint: "sign the kernel with a key in the kernel's keyrings (e.g. enrol it as a MOK)",
    };
  }
  if (f.lockdown === undefined && f.capSysBoot !== undefined) {
    // The other facts were readable: only the lockdown file is missing, as in
    // an initramfs that never mounted securityfs.
    return {
      cause: "the kernel refused and no capability or sysctl explains it; lockdown cannot " +
        `be ruled out: ${PATHS.lockdown} is unreadable (securityfs not mounted?)`,
      hint: "mount -t securityfs securityfs /sys/kernel/security and run again; a locked-down " +
        "kernel refuses kexec_load and unsigned kernels",
    };
  }
  return {
    cause: "the kernel refused (no lockdown, sysctl or capability explains it)",
    hint: "check dmesg for an LSM (IMA, SELinux) message",
  };
}

function explainEinval(ctx: FailureContext): Explanation {
  switch (ctx.call) {
    case "kexec_file_load":
      return {
        cause: "the kernel's file loader rejected the request: an unknown flag, a command line " +
          "longer than the kernel allows, an empty file, or (arm64) an image that is not a " +
          "raw Image",
        hint: "run with -d for details, or try kexec_load with -c",
      };
    case "kexec_load":
      return {
        cause: "the kernel rejected the segments or flags: overlapping segments, more than " +
          "16, bufsz > memsz, segments larger than half of RAM, or an unknown flag",
        hint: "run with -d to see the segment table; a smaller initrd may help on small machines",
      };
    case "reboot":
      return {
        cause: "no kexec image is loaded, or this process is not in the initial PID namespace",
        hint: "load a kernel with -l first; run outside containers",
      };
    default:
      return { cause: "the kernel rejected the request", hint: "run with -d for details" };
  }
}

/**
 * Explains an errno of a kexec call.
 *
 * @example
 * ```ts
 * import { explainErrno } from "./diagnose.ts";
 * const e = explainErrno(1, {
 *   call: "kexec_load", syscall: "kexec_load", crash: false, facts: { lockdown: "integrity" },
 * });
 * if (!e.cause.includes("locked down")) throw new Error(e.cause);
 * ```
 */
export function explainErrno(errno: number, ctx: FailureContext): Explanation {
  const file = ctx.call === "kexec_file_load";
  switch (errno) {
    case Errno.EPERM:
      return explainEperm(ctx);
    case Errno.EACCES:
      return {
        cause: "an IMA/Secure Boot policy requires an appraised kernel, which kexec_load " +
          "cannot provide",
        hint: "use kexec_file_load (-s) with a signed kernel",
      };
    case Errno.ENOSYS:
      return {
        cause: file
          ? "this kernel was built without CONFIG_KEXEC_FILE (no kexec_file_load)"
          : "this kernel was built without CONFIG_KEXEC (no kexec_load)",
        hint: file ? "use kexec_load with -c" : "use kexec_file_load with -s",
      };
    case Errno.EINVAL:
      return explainEinval(ctx);
    case Errno.ENOEXEC:
      return {
        cause: "the kernel's file loader does not accept this image (x86_64 needs a 64-bit " +
          "bzImage that can be loaded above 4 GiB)",
        hint: "use kexec_load with -c, or unwrap the image",
      };
    case Errno.EKEYREJECTED:
    case Errno.ENOKEY:
      return {
        cause: "the kernel image's signature is not trusted by any of the kernel's keyrings",
        hint: "sign the kernel with an enrolled key (MOK), or on kernels without enforced " +
          "signatures use kexec_load with -c",
      };
    case Errno.EBADMSG:
    case Errno.EMSGSIZE:
    case Errno.ELIBBAD:
      return {
        cause: "the kernel image's signature is malformed",
        hint: "re-sign the kernel (sbsign/pesign)",
      };
    case Errno.ENODATA:
      return {
        cause: "signature enforcement is on and the kernel image is not signed",
        hint: "sign the kernel with an enrolled key",
      };
    case Errno.ENOPKG:
      return {
        cause: "the signature uses a crypto algorithm this kernel lacks",
        hint: "re-sign with SHA-256/RSA",
      };
    case Errno.EBUSY:
      return {
        cause: "another kexec operation holds the kexec lock (a load, exec or crash in " +
          "progress), or on arm64 secondary CPUs could not be parked",
        hint: 'retry in a moment; check dmesg for "CPUs are stuck"',
      };
    case Errno.ENOMEM:
      return {
        cause: "the kernel could not allocate memory for the image",
        hint: "kexec needs the kernel and initrd size in free RAM; free memory or use a " +
          "smaller initrd",
      };
    case Errno.EADDRNOTAVAIL:
      return ctx.crash
        ? {
          cause: "memory placement failed: the crash kernel does not fit in the reserved " +
            "crash region (or none is reserved)",
          hint: "boot with a larger crashkernel= or use a smaller crash initrd",
        }
        : {
          cause: "memory placement failed: a segment is unaligned or beyond the usable range",
          hint: "run with -d to see the segment table",
        };
    case Errno.ETXTBSY:
      return {
        cause: "the kernel or initrd file is open for writing by some process",
        hint: "close the writer, or copy the file first",
      };
    case Errno.EFBIG:
      return {
        cause: "the file is larger than the kernel's file reader accepts",
        hint: "use a smaller initrd",
      };
    case Errno.EBADF:
      return {
        cause: "a file descriptor was not valid",
        hint: "this is a bug in kexec; run with -d and report it",
      };
    case Errno.EFAULT:
      return {
        cause: "the kernel could not read a buffer",
        hint: "this is a bug in kexec; run with -d and report it",
      };
    case Errno.EOPNOTSUPP:
      return {
        cause: "the kernel does not support this image or its signature wrapper",
        hint: "use kexec_load with -c",
      };
    default:
      return { cause: "unexpected failure", hint: "check dmesg" };
  }
}

/**
 * A typed error for a failed kexec call: `<syscall> failed: ERRNO (text): cause`.
 *
 * @example
 * ```ts
 * import { syscallError } from "./diagnose.ts";
 * const e = syscallError(38, {
 *   call: "kexec_file_load", syscall: "kexec_file_load", crash: false, facts: {},
 * });
 * if (!e.message.startsWith("kexec_file_load failed: ENOSYS")) throw new Error(e.message);
 * ```
 */
export function syscallError(
  errno: number,
  ctx: FailureContext,
  exitCode: number = ExitCode.FAILURE,
): KexecError {
  const { cause, hint } = explainErrno(errno, ctx);
  const what = ctx.call === "unload"
    ? `${ctx.syscall}(unload)`
    : ctx.call === "reboot"
    ? "kexec (reboot)"
    : ctx.syscall;
  return new KexecError(`${what} failed: ${describeErrno(errno)}: ${cause}`, {
    exitCode,
    hint,
    syscall: ctx.syscall,
    errno,
  });
}
