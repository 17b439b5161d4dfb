/**
 * The contrib/ initramfs integrations, run by Debian's own generators:
 * `deno task install` into a scratch prefix, then the initramfs-tools hook
 * through `mkinitramfs` and the dracut module through `dracut`, each writing
 * an image into a scratch directory; `lsinitramfs` lists the image, which must
 * hold every file of the install's initramfs.list at its place and, for each
 * program, its ELF interpreter and libraries.
 *
 * The generators are not installed on the host (they would hook its kernel
 * updates, and the two packages conflict): scripts/test-setup.ts unpacks them
 * into the test cache (scripts/test-assets/initramfs_generators.ts), and each
 * run lays them, with the scratch hook links, a kernel modules directory and
 * a kernel config, over /usr, /etc and /boot with read-only overlays in a
 * private mount namespace (`unshare -m`; needs root, as CI has). No QEMU.
 */
import assert from "node:assert/strict";
import { defaultCacheDir } from "../../scripts/fetch-test-assets.ts";
import { ensureInitramfsGenerators } from "../../scripts/test-assets/initramfs_generators.ts";
import { sharedLibraryClosure } from "../../scripts/mkinitramfs.ts";

const REPO = new URL("../../", import.meta.url).pathname;
/** A kernel version no host has: the generators get our empty modules directory. */
const KVER = "0.0.0-kexec-deno-test";

interface Scratch {
  dir: string;
  prefix: string;
  /** Layers over /usr, /etc, /boot. */
  layer: string;
  generators: string;
}

async function sh(script: string): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command("unshare", {
    args: ["-m", "sh", "-ec", script],
    stdout: "piped",
    stderr: "piped",
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
  }).output();
  const dec = new TextDecoder();
  return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** The script prefix that lays the generators and the scratch layer over the host. */
function overlays(s: Scratch): string {
  return ["usr", "etc", "boot"].map((d) => {
    const lower = d === "boot"
      ? `${s.layer}/boot:/boot`
      : `${s.layer}/${d}:${s.generators}/${d}:/${d}`;
    return `mount -t overlay overlay -o lowerdir=${lower} /${d}`;
  }).join("\n") + "\n";
}

async function setUp(): Promise<Scratch> {
  assert.equal(
    Deno.uid(),
    0,
    "mkinitramfs and dracut run in a private mount namespace: run as root",
  );
  const { root } = await ensureInitramfsGenerators(defaultCacheDir());
  const dir = await Deno.makeTempDir({ prefix: "kexec-contrib-" });
  const s = { dir, prefix: `${dir}/prefix`, layer: `${dir}/layer`, generators: root };
  const install = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "install", "--prefix", s.prefix],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(install.success, new TextDecoder().decode(install.stderr));
  const modules = `${s.layer}/usr/lib/modules/${KVER}`;
  await Deno.mkdir(modules, { recursive: true });
  for (const f of ["modules.order", "modules.builtin"]) {
    await Deno.writeTextFile(`${modules}/${f}`, "");
  }
  await Deno.mkdir(`${s.layer}/boot`, { recursive: true });
  // mkinitramfs picks its compressor by what the kernel's config can unpack.
  await Deno.writeTextFile(
    `${s.layer}/boot/config-${KVER}`,
    "CONFIG_BLK_DEV_INITRD=y\nCONFIG_RD_GZIP=y\nCONFIG_RD_ZSTD=y\n",
  );
  // Enabled the way the hook's and the module's comments tell users to.
  await Deno.mkdir(`${s.layer}/etc/initramfs-tools/hooks`, { recursive: true });
  await Deno.symlink(
    `${s.prefix}/share/kexec-deno/initramfs-tools/hooks/kexec`,
    `${s.layer}/etc/initramfs-tools/hooks/kexec-deno`,
  );
  await Deno.mkdir(`${s.layer}/usr/lib/dracut/modules.d`, { recursive: true });
  await Deno.symlink(
    `${s.prefix}/share/kexec-deno/dracut/90kexec-deno`,
    `${s.layer}/usr/lib/dracut/modules.d/90kexec-deno`,
  );
  return s;
}

/** Every path the install's initramfs.list asks for, with each program's libraries. */
async function expectedFiles(s: Scratch): Promise<{ path: string; real: string }[]> {
  const list = await Deno.readTextFile(`${s.prefix}/lib/kexec-deno/initramfs.list`);
  const out: { path: string; real: string }[] = [];
  for (const line of list.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const [kind, src, dst] = line.split(" ");
    out.push({ path: dst, real: dst });
    if (kind !== "exec") continue;
    for (const lib of sharedLibraryClosure(src)) {
      out.push({ path: lib.guest, real: await Deno.realPath(lib.host) });
    }
  }
  return out;
}

/** True when the listed image has `path`: as it is, or under usr/ (merged /usr images). */
function holds(listed: Set<string>, path: string): boolean {
  const p = path.replace(/^\/+/, "");
  return listed.has(p) || listed.has(`usr/${p}`);
}

async function checkImage(s: Scratch, image: string): Promise<string[]> {
  const r = await sh(overlays(s) + `lsinitramfs ${image}`);
  assert.ok(r.ok, `lsinitramfs ${image} failed:\n${r.out}`);
  const listed = new Set(r.out.split("\n").map((l) => l.trim()).filter((l) => l !== ""));
  const expected = await expectedFiles(s);
  assert.ok(expected.length >= 4, "initramfs.list names the tool and a program with libraries");
  const missing = expected.filter((f) => !holds(listed, f.path) && !holds(listed, f.real));
  assert.deepEqual(missing.map((f) => f.path), [], `not in ${image}`);
  return [...listed];
}

Deno.test("contrib: initramfs-tools hook and dracut module place the tool and its libraries", async (t) => {
  const s = await setUp();
  try {
    await t.step("mkinitramfs with the hook: the image holds every listed file", async () => {
      const image = `${s.dir}/initrd.img-${KVER}`;
      const r = await sh(overlays(s) + `mkinitramfs -o ${image} ${KVER}`);
      assert.ok(r.ok, `mkinitramfs failed:\n${r.out}`);
      assert.doesNotMatch(r.out, /[WE]: kexec-deno:/, `the hook warned:\n${r.out}`);
      const listed = await checkImage(s, image);
      assert.ok(listed.includes("usr/sbin/kexec") || listed.includes("sbin/kexec"));
    });
    await t.step("dracut with the module: the image holds every listed file", async () => {
      const image = `${s.dir}/dracut.img`;
      const r = await sh(
        overlays(s) +
          `dracut --force --no-hostonly --no-kernel --modules kexec-deno --kver ${KVER} ${image}`,
      );
      assert.ok(r.ok, `dracut failed:\n${r.out}`);
      assert.doesNotMatch(r.out, /kexec-deno: /, `the module reported an error:\n${r.out}`);
      await checkImage(s, image);
    });
    await t.step("without the install's list the hook adds nothing and says why", async () => {
      await Deno.rename(`${s.prefix}/lib/kexec-deno/initramfs.list`, `${s.dir}/list`);
      const image = `${s.dir}/initrd-nolist.img`;
      const r = await sh(overlays(s) + `mkinitramfs -o ${image} ${KVER}`);
      assert.ok(r.ok, `mkinitramfs failed:\n${r.out}`);
      assert.match(r.out, /W: kexec-deno: .*initramfs\.list is missing/);
    });
  } finally {
    await Deno.remove(s.dir, { recursive: true });
  }
});
