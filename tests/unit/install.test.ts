/**
 * `deno task install` / `uninstall` (scripts/install.ts) into temporary
 * prefixes: what is placed, that the launcher runs the bundle with the
 * compiled executable's permissions, that nothing foreign is replaced, and
 * that uninstall removes exactly what it owns.
 */
import assert from "node:assert/strict";
import {
  install,
  InstallError,
  type InstallInputs,
  MANIFEST,
  readManifest,
  uninstall,
} from "../../scripts/install.ts";
import { TOOL_PERMISSIONS } from "../../scripts/compile.ts";
import { bundleFiles } from "../../scripts/bundle_files.ts";
import { taskArgs } from "../e2e/harness/tool.ts";

const REPO = new URL("../../", import.meta.url).pathname;

// The `bundle` task's code-split bundle in `dir`/kexec: its files, the entry first.
async function bundle(dir: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
  const r = await new Deno.Command(Deno.execPath(), {
    args: taskArgs(config.tasks.bundle, `${dir}/kexec`),
    cwd: REPO,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return bundleFiles(`${dir}/kexec/main.js`);
}

const names = (files: readonly string[]) => files.map((f) => f.slice(f.lastIndexOf("/") + 1));

async function tree(root: string, at = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${root}${at}`)) {
    const path = `${at}/${e.name}`;
    out.push(e.isDirectory ? `${path}/` : path);
    if (e.isDirectory) out.push(...await tree(root, path));
  }
  return out.sort();
}

async function run(cmd: string, args: string[]) {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

Deno.test("install --prefix: launcher, bundle, list, hooks, man page; --version runs", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const prefix = `${dir}/x`;
    const built = await bundle(dir);
    assert.equal(names(built)[0], "main.js");
    assert.ok(built.length > 10, "a code-split bundle has chunks");
    const installed = names(built).map((n) => `/lib/kexec-deno/kexec/${n}`);
    const inputs: InstallInputs = {
      prefix,
      bundle: built,
      deno: Deno.execPath(),
      repo: REPO,
    };
    const manifest = await install(inputs, "0.1.0");
    await t.step("every file placed, and the manifest lists exactly those", async () => {
      const files = (await tree(prefix)).filter((p) => !p.endsWith("/"));
      assert.deepEqual(
        files,
        [
          "/lib/kexec-deno/initramfs.list",
          ...installed,
          "/lib/kexec-deno/manifest.json",
          "/sbin/kexec",
          "/share/kexec-deno/dracut/90kexec-deno/module-setup.sh",
          "/share/kexec-deno/initramfs-tools/hooks/kexec",
          "/share/man/man8/kexec.8",
        ].sort(),
      );
      assert.deepEqual(
        manifest.files.map((f) => `/${f.path}`).sort(),
        files.filter((f) => f !== `/${MANIFEST}`),
      );
      assert.equal(readManifest(prefix)?.kind, "launcher");
      assert.equal(((await Deno.stat(`${prefix}/sbin/kexec`)).mode ?? 0) & 0o777, 0o755);
    });
    await t.step("the launcher runs the bundle with exactly the compile permissions", async () => {
      const text = await Deno.readTextFile(`${prefix}/sbin/kexec`);
      assert.match(text, new RegExp(`--no-prompt ${TOOL_PERMISSIONS.join(" ")} `));
      // Those permissions let it read /proc (Deno 2 wants --allow-all for that):
      // -S reads CapEff from /proc/self/status, null when it could not.
      const status = await run(`${prefix}/sbin/kexec`, ["-S", "--json"]);
      assert.equal(typeof JSON.parse(status.out).cap_sys_boot, "boolean", status.out + status.err);
      const version = await run(`${prefix}/sbin/kexec`, ["--version"]);
      assert.equal(version.code, 0, version.err);
      assert.match(version.out, /^kexec \d+\.\d+\.\d+ /);
      const help = await run(`${prefix}/sbin/kexec`, ["--help"]);
      assert.equal(help.code, 0, help.err);
      assert.match(help.out, /--dry-run/);
    });
    await t.step("initramfs.list names deno, the bundle and the launcher", async () => {
      const list = (await Deno.readTextFile(`${prefix}/lib/kexec-deno/initramfs.list`))
        .split("\n").filter((l) => l && !l.startsWith("#"));
      assert.deepEqual(list, [
        `exec ${Deno.execPath()} ${Deno.execPath()}`,
        ...installed.map((p) => `file ${prefix}${p} ${prefix}${p}`),
        `file ${prefix}/sbin/kexec /sbin/kexec`,
      ]);
    });
    await t.step("uninstall removes every file and the directories it made", async () => {
      assert.deepEqual(await uninstall(prefix), []);
      assert.deepEqual(
        await tree(dir),
        ["/kexec/", ...names(built).map((n) => `/kexec/${n}`)].sort(),
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install refuses to replace a kexec it does not own; uninstall keeps what changed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const prefix = `${dir}/usr`;
    await Deno.mkdir(`${prefix}/sbin`, { recursive: true });
    await Deno.writeTextFile(`${prefix}/sbin/kexec`, "kexec-tools\n");
    const inputs: InstallInputs = { prefix, compiled: "/bin/true", deno: "/d", repo: REPO };
    await assert.rejects(() => install(inputs, "0.1.0"), InstallError);
    assert.equal(await Deno.readTextFile(`${prefix}/sbin/kexec`), "kexec-tools\n");
    assert.equal(readManifest(prefix), undefined);

    await Deno.remove(`${prefix}/sbin/kexec`);
    await install(inputs, "0.1.0");
    assert.equal(readManifest(prefix)?.kind, "compiled");
    assert.deepEqual(
      await Deno.readFile(`${prefix}/sbin/kexec`),
      await Deno.readFile("/bin/true"),
    );
    // A reinstall replaces its own files.
    await install(inputs, "0.1.0");
    // The man page edited by hand, a file of someone else's in a directory it made.
    await Deno.writeTextFile(`${prefix}/share/man/man8/kexec.8`, "local edit\n");
    await Deno.writeTextFile(`${prefix}/lib/kexec-deno/other`, "not ours\n");
    const kept = await uninstall(prefix);
    assert.deepEqual(kept, [`${prefix}/share/man/man8/kexec.8`]);
    assert.deepEqual(await tree(prefix), [
      "/lib/",
      "/lib/kexec-deno/",
      "/lib/kexec-deno/other",
      "/sbin/",
      "/share/",
      "/share/man/",
      "/share/man/man8/",
      "/share/man/man8/kexec.8",
    ]);
    await assert.rejects(() => uninstall(prefix), InstallError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task install --prefix P then P/sbin/kexec --version (the issue's acceptance)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const task = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "install", "--prefix", `${dir}/x`],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(task.code, 0, new TextDecoder().decode(task.stderr));
    const version = await run(`${dir}/x/sbin/kexec`, ["--version"]);
    assert.equal(version.code, 0, version.err);
    assert.match(version.out, /^kexec /);
    const un = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "uninstall", "--prefix", `${dir}/x`],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(un.code, 0, new TextDecoder().decode(un.stderr));
    assert.deepEqual(await tree(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
