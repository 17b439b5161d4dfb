/**
 * End-to-end on UEFI (issue 13): OVMF guests (q35, pflash) where the first
 * kernel booted through its EFI stub. `-c -l` and `-s -l` then `-e` must give
 * the second kernel EFI (runtime services, the runtime map, SMBIOS, the EFI
 * framebuffer), and a `-c -p` crash kernel must get EFI too and write a
 * vmcore makedumpfile reads. One guest boot per Deno.test; OVMF alone takes
 * about 25 s under TCG, so these guests have the UEFI timeout.
 * Scripts: tests/e2e/cases/uefi-load.sh, uefi-facts.sh, kdump.sh.
 */
import assert from "node:assert/strict";
import { type GuestRun, runGuestCase } from "./harness/guest.ts";
import { checker, expectMakedumpfileReads, expectRc, stepInfo, value } from "./harness/checks.ts";

const KEXEC_APPEND = "console=ttyS0 panic=-1 e2e.uefi=1";
const CRASH_APPEND = "console=ttyS0 panic=-1 irqpoll nr_cpus=1 reset_devices e2e.kdump=1";
const FACTS = {
  host: new URL("./cases/uefi-facts.sh", import.meta.url).pathname,
  guest: "/e2e/uefi-facts.sh",
};
/** efi_loader_signature-independent marks of a working handover in the next kernel. */
const EFI_FB = /^0 EFI VGA/;

function facts(run: GuestRun, prefix: "s1" | "s2") {
  const v = (name: string) => value(run, `${prefix}_${name}`);
  return {
    efi: v("efi"),
    runtimeMap: Number(v("runtime_map")),
    systab: v("systab") ?? "",
    efivarsOps: Number(v("efivars_ops")),
    efiErrors: Number(v("efi_errors")),
    product: v("dmi_product"),
    fb: v("fb") ?? "",
    typeOfLoader: v("type_of_loader"),
    dmesg: run.report.values.get(`${prefix}_dmesg`) ?? [],
  };
}

/** The second kernel has EFI as the first had it: runtime services, map, SMBIOS, framebuffer. */
function expectEfiCarriedOver(run: GuestRun): void {
  const s1 = facts(run, "s1");
  const s2 = facts(run, "s2");
  const dmesg = `first kernel:\n${s1.dmesg.join("\n")}\nsecond kernel:\n${s2.dmesg.join("\n")}`;
  assert.equal(s1.efi, "yes", "the first kernel booted through UEFI");
  assert.ok(s1.runtimeMap > 0, "the first kernel has a runtime map");
  assert.equal(s2.efi, "yes", `/sys/firmware/efi in the second kernel\n${dmesg}`);
  assert.equal(s2.runtimeMap, s1.runtimeMap, `same runtime map size\n${dmesg}`);
  assert.equal(s2.systab, s1.systab, "same ACPI and SMBIOS entry points in systab");
  assert.equal(s2.efivarsOps, 1, `EFI runtime services (efivars) in the second kernel\n${dmesg}`);
  assert.equal(s2.efiErrors, 0, dmesg);
  assert.ok(s1.product, "DMI product name in the first kernel");
  assert.equal(s2.product, s1.product, "SMBIOS (DMI) read in the second kernel");
  assert.equal(s2.typeOfLoader, "d0", "type_of_loader: kexec");
}

function expectSecondStage(run: GuestRun, cmdline: string): void {
  assert.equal(value(run, "returned_from_exec"), undefined, "kexec -e returned");
  const stage2 = run.report.stage2;
  assert.ok(stage2, "the second kernel's initrd never reported (it did not boot)");
  assert.equal(stage2.token, run.stage2Token, "second stage token (is it our initrd?)");
  assert.equal(stage2.cmdline, cmdline, "second kernel's /proc/cmdline");
  assert.equal(stage2.ended, true);
}

Deno.test("e2e x86_64 UEFI: -c -l then -e boots with EFI runtime services, SMBIOS and the EFI framebuffer", async (t) => {
  const run = await runGuestCase({
    name: "uefi-load-syscall",
    script: "uefi-load.sh",
    firmware: "uefi",
    params: { LOAD_FLAGS: "-c", KEXEC_APPEND },
    files: [FACTS],
    stage2Hook: "uefi-facts.sh",
  });
  const check = checker(t, run);
  await check(
    "-d says EFI is handed over with the runtime map, SETUP_EFI and screen_info",
    (run) => {
      const s = expectRc(run, "load", 0);
      const text = s.err.join("\n");
      assert.match(text, /EFI: runtime services handed over: \d+ runtime-map regions/, stepInfo(s));
      assert.match(text, /setup_data .*SETUP_EFI@0x[0-9a-f]+/, stepInfo(s));
      assert.match(text, /screen_info: the EFI framebuffer at 0x[0-9a-f]+/, stepInfo(s));
      assert.match(text, /loaded kernel \S+ with kexec_load/, stepInfo(s));
      assert.equal(value(run, "loaded_after"), "1");
    },
  );
  await check("-e boots it with the exact cmdline and our initrd", (run) => {
    expectSecondStage(run, KEXEC_APPEND);
  });
  await check("the second kernel has EFI: runtime map, efivars, SMBIOS, kexec loader id", (run) => {
    expectEfiCarriedOver(run);
  });
  await check("the second kernel draws on the EFI framebuffer (efifb)", (run) => {
    assert.match(facts(run, "s1").fb, EFI_FB);
    assert.match(facts(run, "s2").fb, EFI_FB, facts(run, "s2").dmesg.join("\n"));
  });
});

Deno.test("e2e x86_64 UEFI: -s -l (kexec_file_load) then -e boots with EFI as well", async (t) => {
  const run = await runGuestCase({
    name: "uefi-load-file",
    script: "uefi-load.sh",
    firmware: "uefi",
    params: { LOAD_FLAGS: "-s", KEXEC_APPEND },
    files: [FACTS],
    stage2Hook: "uefi-facts.sh",
  });
  const check = checker(t, run);
  await check("-s -l loads with kexec_file_load", (run) => {
    const load = expectRc(run, "load", 0);
    assert.match(load.err.join("\n"), /loaded kernel \S+ with kexec_file_load/, stepInfo(load));
  });
  await check("-e boots it; the second kernel has EFI", (run) => {
    expectSecondStage(run, KEXEC_APPEND);
    expectEfiCarriedOver(run);
  });
});

Deno.test("e2e x86_64 UEFI: -c -p crash kernel has EFI and a vmcore makedumpfile reads", async (t) => {
  const run = await runGuestCase({
    name: "uefi-kdump-syscall",
    script: "kdump.sh",
    firmware: "uefi",
    kernelArgs: ["crashkernel=256M"],
    params: { LOAD_FLAGS: "-c", CRASH_APPEND, STATUS_STEPS: "no", UEFI_FACTS: "yes" },
    files: [FACTS],
    stage2Hook: "uefi-facts.sh",
  });
  const check = checker(t, run);
  await check("-c -p loads, sysrq-c boots the crash kernel with our initrd", (run) => {
    const load = expectRc(run, "crash_reload", 0);
    assert.match(load.err.join("\n"), /loaded crash kernel/, stepInfo(load));
    assert.equal(value(run, "crash_loaded"), "1");
    const stage2 = run.report.stage2;
    assert.ok(stage2?.vmcore, "no /proc/vmcore: the crash kernel did not boot");
    assert.equal(stage2.token, run.stage2Token);
  });
  await check("the crash kernel has EFI: runtime map, efivars, SMBIOS", expectEfiCarriedOver);
  await check("makedumpfile -F -l -d 31 reads /proc/vmcore (exit 0)", expectMakedumpfileReads);
});
