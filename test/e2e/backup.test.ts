/**
 * `backup create`, `backup list`, `backup prune` and `config backup` (SPEC section 8, the
 * runbook's "Pre-Disaster Preparation") against a real database with the built CLI: the dump
 * and its metadata describe the same instant (row counts found in the dump itself, the
 * fingerprint inspectSchema computes, the migration head), the SHA-256 is recomputed, pg_restore
 * reads the dump; a killed backup never leaves a file under a final name; an unusable backup
 * directory or a full disk is one clear line; retention keeps the newest and the newest
 * verified backup and never touches files that are not Confiture backups. Each test has its
 * own schema and project.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createBackup, inspectSchema, loadConfig } from "../../src/index.js";
import { withClient } from "../support/database.js";
import { eventually, expectJson, fileDatabase, type JsonDoc, watchCli } from "../support/e2e.js";
import { SENTINEL_PASSWORD } from "../support/provided-context.js";

const run = promisify(execFile);
const suite = fileDatabase("backup");
const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) {
    try {
      execFileSync("umount", [m]);
    } catch {
      // already gone
    }
  }
});

const STAMP = /^[a-z0-9_]+_\d{8}T\d{6}Z\.dump$/;

/** Schema `s` with two migrations applied and `rows` rows in `items`. */
async function setup(s: string, rows: number, extraConfig = "") {
  await suite.db.query(`create schema ${s}`);
  const { p, cli } = await suite.project(
    s,
    {
      "001_items.up.sql": `create table ${s}.items (id serial primary key, name text not null);\n`,
      "002_tags.up.sql": `create table ${s}.tags (id int primary key);\n`,
    },
    `backup:\n  dir: backups\n${extraConfig}`,
  );
  expect((await cli(["migrate", "up"])).code).toBe(0);
  if (rows > 0) {
    await suite.db.query(
      `insert into ${s}.items (name) select md5(g::text) || md5((g * 7)::text) from generate_series(1, ${rows}) g`,
    );
  }
  return { p, cli, dir: p.path("backups") };
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
// biome-ignore lint/suspicious/noExplicitAny: JSON read back from disk, checked field by field
type Json = Record<string, any>;
const meta = (path: string) => JSON.parse(readFileSync(`${path}.meta.json`, "utf8")) as Json;
const dumps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".dump"));
const password = new URL(process.env.TEST_DATABASE_URL ?? "postgres://x@h/d").password || SENTINEL_PASSWORD;

describe("backup create", () => {
  it("writes a custom dump and metadata that describe the same instant; pg_restore reads it; an event is recorded", async () => {
    const s = "bk_create";
    const { p, cli, dir } = await setup(s, 250);
    const r = await cli(["backup", "create"]);
    expect(r.code, r.stderr).toBe(0);
    const [name] = dumps(dir);
    expect(name).toMatch(STAMP);
    expect(name!.startsWith(`${suite.db.name}_`)).toBe(true);
    const path = join(dir, name!);
    // Nothing but the dump and its metadata: no partial file left behind.
    expect(readdirSync(dir).sort()).toEqual([name, `${name}.meta.json`]);
    const m = meta(path);
    expect(r.stdout).toContain(`Backup written: ${path}`);
    expect(r.stdout).toContain(`sha256 ${m.sha256.slice(0, 16)}`);

    expect(m).toMatchObject({
      kind: "confiture-backup",
      version: 1,
      file: name,
      database: suite.db.name,
      schema: s,
      dumpFormat: "custom",
      compress: 9,
      sha256Of: "file",
      migrations: { trackingTable: "confiture_migrations", appliedCount: 2, head: "002_tags" },
      rowCounts: { exact: true, tables: { items: 250, tags: 0 } },
    });
    // Confiture's own tables are in the dump, not in the counts.
    expect(Object.keys(m.rowCounts.tables)).toEqual(["items", "tags"]);
    expect(m.sha256).toBe(sha256(path));
    expect(m.sizeBytes).toBe(statSync(path).size);
    expect(typeof m.snapshot).toBe("string");
    const { rows } = await suite.db.query<{ v: string; n: string }>(
      "select current_setting('server_version') as v, current_setting('server_version_num') as n",
    );
    expect(m.serverVersion).toBe(rows[0]!.v);
    expect(m.serverVersionNum).toBe(Number(rows[0]!.n));
    expect(m.pgDumpVersion).toMatch(/^\d+\.\d+/);
    expect(Date.parse(m.finishedAt)).toBeGreaterThanOrEqual(Date.parse(m.startedAt));
    const config = await loadConfig({ cwd: p.dir, env: { DATABASE_URL: suite.db.url } });
    expect(m.fingerprint).toBe((await inspectSchema(config)).fingerprint);
    const metaText = readFileSync(`${path}.meta.json`, "utf8");
    expect(metaText).not.toContain(password);
    expect(metaText).not.toContain(SENTINEL_PASSWORD);

    // pg_restore reads it: the history is in the dump, and the data rows are exactly as counted.
    const list = (await run("pg_restore", ["--list", path])).stdout;
    expect(list).toMatch(new RegExp(`TABLE DATA ${s} items`));
    expect(list).toMatch(new RegExp(`TABLE DATA ${s} confiture_migrations`));
    const data = (
      await run("pg_restore", ["--data-only", `--schema=${s}`, "--table=items", "--file=-", path])
    ).stdout;
    const copied = data.split("\n").filter((l) => /^\d+\t/.test(l));
    expect(copied).toHaveLength(250);

    const events = await suite.db.query<{ outcome: string; details: Record<string, unknown> }>(
      `select outcome, details from ${s}.confiture_events where command = 'backup create'`,
    );
    expect(events.rows).toHaveLength(1);
    expect(events.rows[0]!.outcome).toBe("success");
    expect(events.rows[0]!.details).toMatchObject({ file: name, sha256: m.sha256, sizeBytes: m.sizeBytes });

    const json = expectJson(await cli(["backup", "create", "--format", "json"]), 0, true);
    expect(json.path).not.toBe(path);
    expect((json.metadata as Record<string, unknown>).sha256).toBe(sha256(json.path as string));
    expect(dumps(dir)).toHaveLength(2);
  });

  it("directory format: a directory dump hashed over its files; --fast records estimates", async () => {
    const s = "bk_dir";
    const { cli, dir } = await setup(s, 40, "  format: directory\n  compress: 0\n");
    // The estimate is what ANALYZE saw (40), not the 45 rows there are now; a table never
    // analysed has no estimate and is counted.
    await suite.db.query(`alter table ${s}.items set (autovacuum_enabled = false)`);
    await suite.db.query(`analyze ${s}.items`);
    await suite.db.query(`insert into ${s}.items (name) select 'later' from generate_series(1, 5)`);
    await suite.db.query(`create table ${s}.notes as select g from generate_series(1, 3) g`);
    const r = await cli(["backup", "create", "--fast"]);
    expect(r.code, r.stderr).toBe(0);
    const [name] = dumps(dir);
    const path = join(dir, name!);
    expect(statSync(path).isDirectory()).toBe(true);
    expect(existsSync(join(path, "toc.dat"))).toBe(true);
    const m = meta(path);
    expect(m).toMatchObject({ dumpFormat: "directory", compress: 0, sha256Of: "directory-listing" });
    expect(m.rowCounts).toEqual({ exact: false, tables: { items: 40, notes: 3, tags: 0 } });
    expect(r.stdout).toContain("(estimated, --fast)");
    const files = readdirSync(path).sort();
    const listing = files.map((f) => `${f}\0${sha256(join(path, f))}\n`).join("");
    expect(m.sha256).toBe(createHash("sha256").update(listing).digest("hex"));
    expect(m.sizeBytes).toBe(files.reduce((sum, f) => sum + statSync(join(path, f)).size, 0));
    expect((await run("pg_restore", ["--list", path])).stdout).toMatch(/TABLE DATA bk_dir items/);
  });

  it("a backup dir that is a file, or not writable, is one line and exit 2; nothing is dumped", async () => {
    const s = "bk_baddir";
    const { p, cli } = await setup(s, 0);
    await p.write("blocked", "a file, not a directory\n");
    await p.write("confiture.yaml", `schema: ${s}\nbackup:\n  dir: blocked/backups\n`);
    const bad = await cli(["backup", "create"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(
      /^error: cannot write backups to .*blocked\/backups: it \(or a parent\) is a file/,
    );
    expect(bad.stderr).toContain("backup.dir");
    const doc = expectJson(await cli(["backup", "create", "--format", "json"]), 2, false);
    expect(doc.error?.code).toBe("BACKUP_DIR_UNUSABLE");

    // Not writable: a read-only file system when running as root (permissions do not stop root).
    const ro = p.path("readonly");
    mkdirSync(ro);
    if (isRoot) {
      try {
        execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", ro]);
        mounts.push(ro);
      } catch {
        return; // no mount permission here: the file case above stands
      }
    } else {
      chmodSync(ro, 0o555);
    }
    await p.write("confiture.yaml", `schema: ${s}\nbackup:\n  dir: readonly\n`);
    const denied = await cli(["backup", "create"]);
    expect(denied.code).toBe(2);
    expect(denied.stderr.trim().split("\n")).toHaveLength(1);
    expect(denied.stderr).toMatch(
      /^error: cannot write backups to .*readonly: (permission denied|it is on a read-only file system)/,
    );
  });

  it("a full disk removes the partial dump and says so in one line (exit 1)", async (ctx) => {
    const s = "bk_full";
    const { p, cli } = await setup(s, 20_000, "  compress: 0\n");
    const small = p.path("small");
    mkdirSync(small);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", small]);
      mounts.push(small);
    } catch {
      ctx.skip(); // needs root (a tmpfs of 256 KiB)
    }
    await p.write("confiture.yaml", `schema: ${s}\nbackup:\n  dir: small\n  compress: 0\n`);
    const r = await cli(["backup", "create"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^error: the disk holding .*small is full: .*\.dump could not be written completely/,
    );
    expect(readdirSync(small)).toEqual([]);
    const doc = expectJson(await cli(["backup", "create", "--format", "json"]), 1, false);
    expect(doc.error?.code).toBe("BACKUP_DISK_FULL");
    expect(readdirSync(small)).toEqual([]);
  });

  it("rows committed while the metadata is read are in neither the counts nor the dump (one snapshot)", async () => {
    const s = "bk_snapshot";
    const { p, dir } = await setup(s, 100);
    await withClient(suite.db.url, async (locker) => {
      // Counting `tags` waits for this lock: the backup is then past its snapshot, before pg_dump.
      await locker.query(`begin; lock table ${s}.tags in access exclusive mode`);
      const backup = watchCli(["backup", "create"], { cwd: p.dir, env: { DATABASE_URL: suite.db.url } });
      await eventually(async () => {
        const { rows } = await suite.db.query(
          "select 1 from pg_stat_activity where application_name = 'confiture: backup create' and wait_event_type = 'Lock'",
        );
        return rows.length > 0 ? true : undefined;
      }, "the backup to wait for the lock");
      await suite.db.query(`insert into ${s}.items (name) select 'late' from generate_series(1, 10)`);
      await locker.query("commit");
      const r = await backup.done;
      expect(r.code, r.stderr).toBe(0);
    });
    const [name] = dumps(dir);
    const path = join(dir, name!);
    expect(meta(path).rowCounts.tables.items).toBe(100);
    const data = (
      await run("pg_restore", ["--data-only", `--schema=${s}`, "--table=items", "--file=-", path])
    ).stdout;
    expect(data.split("\n").filter((l) => /^\d+\t/.test(l))).toHaveLength(100);
    expect((await suite.db.query(`select count(*)::int as n from ${s}.items`)).rows[0]!.n).toBe(110);
  });

  it("pg_dump missing: a clear error naming the package; pg_dump older than the server: both versions", async () => {
    const s = "bk_tools";
    const { p, dir } = await setup(s, 0);
    const config = await loadConfig({ cwd: p.dir, env: { DATABASE_URL: suite.db.url } });
    const empty = p.path("no-bin");
    mkdirSync(empty);
    const missing = await createBackup(config, { binDir: empty, searchPath: [] }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "TOOL_NOT_FOUND", category: "usage" });
    expect((missing as Error).message).toContain("pg_dump not found");
    expect((missing as Error).message).toContain("apt-get install postgresql-client");

    // A pg_dump that says it is 9.6 against this server.
    const old = p.path("old-bin");
    mkdirSync(old);
    writeFileSync(join(old, "pg_dump"), "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n", { mode: 0o755 });
    const tooOld = await createBackup(config, { binDir: old, searchPath: [] }).catch((e: unknown) => e);
    expect(tooOld).toMatchObject({ code: "TOOL_TOO_OLD" });
    const { rows } = await suite.db.query<{ v: string }>("select current_setting('server_version') as v");
    expect((tooOld as Error).message).toContain("pg_dump 9.6.24");
    expect((tooOld as Error).message).toContain(`the server runs PostgreSQL ${rows[0]!.v}`);
    // Nothing was written either time.
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a killed backup never leaves a file under a final name; SIGINT removes its partial file", async () => {
    const s = "bk_kill";
    const { p, cli, dir } = await setup(s, 150_000);
    const env = { DATABASE_URL: suite.db.url };
    // pg_dump has started writing (whatever name it writes under).
    const partialSeen = () =>
      existsSync(dir) && readdirSync(dir).some((n) => statSync(join(dir, n)).size > 0);

    const killed = watchCli(["backup", "create"], { cwd: p.dir, env });
    await waitFor(partialSeen);
    killed.child.kill("SIGKILL");
    await killed.done;
    // The orphaned pg_dump may go on writing: its file keeps its partial (dot) name whatever happens.
    await waitFor(() => stable(dir), 15_000, 500);
    expect(readdirSync(dir).filter((n) => !n.startsWith("."))).toEqual([]);
    const list = await cli(["backup", "list"]);
    expect(list.stdout).toContain(`No backups in ${dir}.`);
    rmSync(dir, { recursive: true, force: true });

    const interrupted = watchCli(["backup", "create"], { cwd: p.dir, env });
    await waitFor(partialSeen);
    interrupted.child.kill("SIGINT");
    const r = await interrupted.done;
    expect(r.code).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
  });
});

/** True when the directory's entries and sizes did not change since the last call. */
let lastSizes = "";
function stable(dir: string): boolean {
  const sizes = readdirSync(dir)
    .map((n) => `${n}:${statSync(join(dir, n)).size}`)
    .join(",");
  const same = sizes === lastSizes;
  lastSizes = sizes;
  return same;
}

async function waitFor(predicate: () => boolean, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A copy of a real backup under an older name and start time (what a backup taken then looks like). */
function ageCopy(dir: string, source: string, stamp: string, database: string): string {
  const name = `${database}_${stamp}.dump`;
  copyFileSync(join(dir, source), join(dir, name));
  const m = meta(join(dir, source));
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  writeFileSync(
    join(dir, `${name}.meta.json`),
    JSON.stringify({ ...m, file: name, startedAt: iso, finishedAt: iso }, null, 2),
  );
  return name;
}

describe("backup list and prune", () => {
  it("list shows every backup with its migrations and verification, and flags incomplete ones", async () => {
    const s = "bk_list";
    const { cli, dir } = await setup(s, 3);
    expect((await cli(["backup", "list"])).stdout).toContain("does not exist yet");
    expect((await cli(["backup", "create"])).code).toBe(0);
    const [newest] = dumps(dir);
    const db = suite.db.name;
    const old = ageCopy(dir, newest!, "20200101T000000Z", db);
    writeFileSync(
      join(dir, `${old}.verified.json`),
      JSON.stringify({ verifiedAt: "2020-01-02T00:00:00Z", ok: true, restoreMs: 1234 }),
    );
    const orphanMeta = ageCopy(dir, newest!, "20200301T000000Z", db);
    rmSync(join(dir, orphanMeta));
    writeFileSync(join(dir, `${db}_20200401T000000Z.dump`), "not made by confiture");

    const r = await cli(["backup", "list"]);
    expect(r.code).toBe(0);
    const line = (n: string) => r.stdout.split("\n").find((l) => l.startsWith(n)) ?? "";
    expect(line(newest!)).toMatch(/2 \/ 002_tags\s+no\s+ok$/);
    expect(line(old)).toMatch(/2020-01-01 00:00:00 .*2 \/ 002_tags\s+yes 2020-01-02\s+ok$/);
    expect(line(orphanMeta)).toContain("incomplete: metadata without its dump");
    expect(line(`${db}_20200401T000000Z.dump`)).toContain("no metadata file (not made by");
    expect(r.stdout).toContain("2 complete backup(s), 2 flagged");

    const doc = expectJson(await cli(["backup", "list", "--format", "json"]), 0, true);
    const backups = doc.backups as Json[];
    expect(backups.map((b) => b.name)).toEqual([newest, `${db}_20200401T000000Z.dump`, orphanMeta, old]);
    expect(backups[0]!.problem).toBeNull();
    expect(backups[3]!.verification).toEqual({
      verifiedAt: "2020-01-02T00:00:00Z",
      ok: true,
      restoreMs: 1234,
    });
  });

  it("prune deletes old Confiture backups only: never the newest, the newest verified, the K newest, or foreign files", async () => {
    const s = "bk_prune";
    const { cli, dir } = await setup(s, 3);
    expect((await cli(["backup", "create"])).code).toBe(0);
    const [newest] = dumps(dir);
    const db = suite.db.name;
    const verified = ageCopy(dir, newest!, "20200101T000000Z", db);
    writeFileSync(
      join(dir, `${verified}.verified.json`),
      JSON.stringify({ verifiedAt: "2020-01-02T00:00:00Z", ok: true, restoreMs: 10 }),
    );
    const b = ageCopy(dir, newest!, "20200201T000000Z", db);
    const failedVerify = ageCopy(dir, newest!, "20200301T000000Z", db);
    writeFileSync(
      join(dir, `${failedVerify}.verified.json`),
      JSON.stringify({ verifiedAt: "2020-03-02T00:00:00Z", ok: false, restoreMs: 10 }),
    );
    const orphan = ageCopy(dir, newest!, "20200401T000000Z", db);
    rmSync(join(dir, orphan));
    const foreign = ["notes.txt", "other.dump", `${db}_20190101T000000Z.dump`];
    for (const f of foreign) writeFileSync(join(dir, f), "someone else's\n");
    // Valid metadata naming a dump whose name is not Confiture's: not a Confiture backup either.
    copyFileSync(join(dir, newest!), join(dir, "manual.dump"));
    writeFileSync(
      join(dir, "manual.dump.meta.json"),
      JSON.stringify({ ...meta(join(dir, b)), file: "manual.dump" }),
    );
    // A killed run's partial file, two hours old (a fresh one may belong to a backup running now).
    const leftover = `.${db}_20200501T000000Z.dump.partial`;
    const fresh = `.${db}_20200502T000000Z.dump.partial`;
    writeFileSync(join(dir, leftover), "half");
    writeFileSync(join(dir, fresh), "half");
    utimesSync(join(dir, leftover), new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
    const before = readdirSync(dir).sort();

    const dry = await cli(["backup", "prune", "--keep-days", "30", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(dry.stdout).toMatch(/^Would delete 3 backup\(s\) older than 30 days/);
    for (const n of [b, failedVerify, orphan]) expect(dry.stdout).toContain(`  ${n}  (`);
    expect(dry.stdout).toContain(`${newest}  newest complete backup`);
    expect(dry.stdout).toContain(`${verified}  newest verified backup`);
    expect(dry.stdout).toContain("other.dump  no metadata file");
    expect(dry.stdout).toContain("manual.dump  its name does not fit");
    expect(dry.stdout).toContain(`Would remove 1 partial file(s) of killed runs: ${leftover}`);

    // --keep-last 2 keeps the two newest complete backups: the newest and failedVerify.
    const kept2 = expectJson(
      await cli(["backup", "prune", "--keep-days", "30", "--keep-last", "2", "--format", "json"]),
      0,
      true,
    );
    expect((kept2.deleted as JsonDoc[]).map((d) => d.name)).toEqual([orphan, b]);
    expect(kept2.leftovers).toEqual([leftover]);
    expect(existsSync(join(dir, leftover))).toBe(false);
    expect(existsSync(join(dir, b))).toBe(false);
    expect(existsSync(join(dir, `${b}.meta.json`))).toBe(false);
    expect(existsSync(join(dir, failedVerify))).toBe(true);

    // The config's retention_days (30 by default) applies without --keep-days.
    const r = await cli(["backup", "prune"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Deleted 1 backup\(s\) older than 30 days/);
    expect(r.stdout).toContain(
      `  ${failedVerify}  (${failedVerify}.verified.json, ${failedVerify}, ${failedVerify}.meta.json)`,
    );
    const after = readdirSync(dir).sort();
    expect(after).toEqual(
      [
        newest!,
        `${newest}.meta.json`,
        verified,
        `${verified}.meta.json`,
        `${verified}.verified.json`,
        ...foreign,
        "manual.dump",
        "manual.dump.meta.json",
        fresh,
      ].sort(),
    );
    for (const f of foreign) expect(readFileSync(join(dir, f), "utf8")).toBe("someone else's\n");

    const bad = await cli(["backup", "prune", "--keep-days", "-3"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: .*--keep-days/);
  });
});

describe("config backup", () => {
  it("copies confiture.yaml as written and lists the CONFITURE_* names in effect, never values", async () => {
    const s = "bk_config";
    await suite.db.query(`create schema ${s}`);
    const { p, cli } = await suite.project(s);
    const yaml = `# our config\ndatabase_url: \${DATABASE_URL}\nschema: other\nbackup:\n  dir: backups\n`;
    await p.write("confiture.yaml", yaml);
    const r = await cli(["config", "backup"], {
      CONFITURE_SCHEMA: s,
      CONFITURE_TRACKING_TABLE: "secret_value_table",
    });
    expect(r.code, r.stderr).toBe(0);
    const dir = p.path("backups/config");
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    const [names, copy] = files as [string, string];
    expect(copy).toMatch(/^confiture_\d{8}T\d{6}Z\.yaml$/);
    expect(names).toBe(copy.replace(/\.yaml$/, ".env-names.txt"));
    expect(readFileSync(join(dir, copy), "utf8")).toBe(yaml);
    const text = readFileSync(join(dir, names), "utf8");
    const listed = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    expect(listed).toEqual(["CONFITURE_SCHEMA", "CONFITURE_TRACKING_TABLE"]);
    expect(text).toContain("# DATABASE_URL");
    expect(text).not.toContain("secret_value_table");
    expect(text).not.toContain(suite.db.url);
    expect(text).not.toContain(SENTINEL_PASSWORD);
    expect(r.stdout).toContain(`Wrote ${join(dir, copy)}`);
    expect(r.stdout).toContain("CONFITURE_SCHEMA, CONFITURE_TRACKING_TABLE");
  });
});
