/**
 * `backup verify` (SPEC section 8), the runbook's weekly restore test: a good backup restores
 * into a scratch database that is dropped afterwards, the outcome and the measured restore time
 * are recorded in confiture_events and beside the dump; a truncated dump, a corrupted one, and
 * one whose data, schema or history does not match its metadata each fail their check (exit 3).
 */
import { createHash } from "node:crypto";
import { open, readdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createTestDatabase, urlForDatabase, withClient } from "../support/database.js";
import { type BoundCli, expectJson, fileDatabase, type JsonDoc, withPassFileRole } from "../support/e2e.js";
import type { TestProject } from "../support/project.js";

const suite = fileDatabase("backup verify");

interface Check {
  name: string;
  verdict: string;
  evidence: string[];
}

/** A project in schema `s` with two migrations applied and a few rows. */
async function setup(s: string): Promise<{ p: TestProject; cli: BoundCli }> {
  await suite.db.query(`create schema ${s}`);
  const made = await suite.project(s, {
    "001_users.up.sql": `create table ${s}.users (id int generated always as identity primary key, email text not null unique);\n`,
    "002_orders.up.sql": `create table ${s}.orders (id serial primary key, user_id int references ${s}.users, total numeric);\n`,
  });
  expect((await made.cli(["migrate", "up"])).code).toBe(0);
  await suite.db.query(
    `insert into ${s}.users (email) select 'u' || g || '@example.com' from generate_series(1, 5) g;
     insert into ${s}.orders (user_id, total) select 1 + g % 5, g from generate_series(1, 12) g`,
  );
  return made;
}

/** `confiture backup create` into the project's backup dir; the dump's path. */
async function backup(cli: BoundCli): Promise<string> {
  const doc = expectJson(await cli(["backup", "create", "--format", "json"]), 0, true);
  return doc.path as string;
}

/** The parts of a backup's metadata the tests change. */
interface Meta {
  sha256: string;
  fingerprint: string;
  pgDumpVersion: string;
  migrations: { appliedCount: number; head: string | null };
  rowCounts: { exact: boolean; tables: Record<string, number> };
}

/** What a `backup verify` event's details hold. */
interface VerifyDetails {
  file: string;
  restoreMs: number | null;
  kept: boolean;
  checks: { passed: string[]; failed: string[]; skipped: string[] };
}

async function readMeta(dump: string): Promise<Meta> {
  return JSON.parse(await readFile(`${dump}.meta.json`, "utf8")) as Meta;
}

async function editMeta(dump: string, edit: (meta: Meta) => void): Promise<void> {
  const meta = await readMeta(dump);
  edit(meta);
  await writeFile(`${dump}.meta.json`, JSON.stringify(meta, null, 2));
}

function checksOf(doc: JsonDoc): Record<string, Check> {
  return Object.fromEntries((doc.checks as Check[]).map((c) => [c.name, c]));
}

function verdicts(doc: JsonDoc): string {
  return (doc.checks as Check[]).map((c) => `${c.name}=${c.verdict}`).join(" ");
}

async function databaseExists(name: string): Promise<boolean> {
  const r = await suite.db.query("select 1 from pg_database where datname = $1", [name]);
  return r.rowCount === 1;
}

async function lastEvent(s: string): Promise<{ outcome: string; details: VerifyDetails }> {
  const r = await suite.db.query<{ outcome: string; details: VerifyDetails }>(
    `select outcome, details from ${s}.confiture_events where command = 'backup verify' order by id desc limit 1`,
  );
  expect(r.rowCount, "an event was recorded").toBe(1);
  return r.rows[0]!;
}

describe("backup verify", () => {
  it("the runbook's weekly restore test: the latest backup restores, matches its metadata, is recorded, and the scratch database is gone", async () => {
    const s = "bv_good";
    const { cli } = await setup(s);
    const dump = await backup(cli);

    const r = await cli(["backup", "verify", "--latest"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`Backup ${dump}\n`);
    for (const name of ["sha256", "restore", "history", "fingerprint", "row counts"])
      expect(r.stdout).toMatch(new RegExp(`^PASS  ${name} `, "m"));
    // What the runbook's `migrate status` and `SELECT COUNT(*) FROM confiture_migrations` looked at.
    expect(r.stdout).toMatch(
      /^PASS {2}history {6}bv_good\.confiture_migrations readable: 2 applied, head 002_orders, as in the metadata; checksums equal the files$/m,
    );
    expect(r.stdout).toMatch(
      /^PASS {2}row counts {3}2 table\(s\), 17 row\(s\), each equal to the metadata$/m,
    );
    expect(r.stdout).toMatch(/^restore took \d+(\.\d)? m?s: your RTO for this database is at least that$/m);
    expect(r.stdout).toMatch(/^backup verify: 5 passed, 0 failed, 0 skipped/m);
    const scratch = /^scratch database (confiture_scratch_\S+) dropped$/m.exec(r.stdout)?.[1];
    expect(scratch).toBeDefined();
    expect(await databaseExists(scratch!)).toBe(false);

    const event = await lastEvent(s);
    expect(event.outcome).toBe("success");
    expect(event.details.file).toBe(dump);
    expect(typeof event.details.restoreMs).toBe("number");
    expect(event.details.checks).toEqual({
      passed: ["sha256", "restore", "history", "fingerprint", "row counts"],
      failed: [],
      skipped: [],
    });
    const marker = JSON.parse(await readFile(`${dump}.verified.json`, "utf8")) as Record<string, unknown>;
    expect(marker).toMatchObject({ ok: true, restoreMs: event.details.restoreMs });
  });

  it("--latest picks the newest backup; --jobs runs a parallel restore; JSON has the checks and the restore time", async () => {
    const s = "bv_latest";
    const { cli } = await setup(s);
    const older = await backup(cli);
    await suite.db.query(`insert into ${s}.users (email) values ('late@example.com')`);
    const newer = await backup(cli);
    expect(newer > older).toBe(true);

    const doc = expectJson(
      await cli(["backup", "verify", "--latest", "--jobs", "2", "--format", "json"]),
      0,
      true,
    );
    expect(doc.file).toBe(newer);
    expect(verdicts(doc)).toBe("sha256=PASS restore=PASS history=PASS fingerprint=PASS row counts=PASS");
    expect(checksOf(doc).restore!.evidence[0]).toMatch(
      /^pg_restore \d+\.\d+ --jobs 2 into confiture_scratch_/,
    );
    expect(typeof doc.restoreMs).toBe("number");
    expect(doc.kept).toBe(false);
    expect(await databaseExists(doc.scratchDatabase as string)).toBe(false);
    // The older one is verified against its own metadata (one row fewer), given by name in backup.dir.
    const old = expectJson(
      await cli(["backup", "verify", older.slice(older.lastIndexOf("/") + 1), "--format", "json"]),
      0,
      true,
    );
    expect(old.file).toBe(older);
  });

  it("a directory-format backup verifies, and a changed file inside it fails sha256", async () => {
    const s = "bv_directory";
    await suite.db.query(`create schema ${s}`);
    const { cli } = await suite.project(
      s,
      { "001_t.up.sql": `create table ${s}.t (id int);\ninsert into ${s}.t values (1), (2);\n` },
      "backup:\n  format: directory\n",
    );
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const dump = await backup(cli);
    expect((await stat(dump)).isDirectory()).toBe(true);
    const ok = expectJson(await cli(["backup", "verify", dump, "--jobs", "2", "--format", "json"]), 0, true);
    expect(verdicts(ok)).toBe("sha256=PASS restore=PASS history=PASS fingerprint=PASS row counts=PASS");

    const data = (await readdir(dump)).find((f) => f.endsWith(".dat.gz"))!;
    await writeFile(join(dump, data), "not gzip");
    const bad = expectJson(await cli(["backup", "verify", dump, "--format", "json"]), 3, false);
    expect(verdicts(bad)).toBe("sha256=FAIL restore=SKIP history=SKIP fingerprint=SKIP row counts=SKIP");
  });

  it("a truncated dump fails sha256 and is not restored (exit 3); the failure is recorded", async () => {
    const s = "bv_truncated";
    const { cli } = await setup(s);
    const dump = await backup(cli);
    const size = (await stat(dump)).size;
    await truncate(dump, Math.floor(size / 2));

    const r = await cli(["backup", "verify", dump]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(
      /^FAIL {2}sha256 {7}the dump's SHA-256 is [0-9a-f]{12}…, the metadata says [0-9a-f]{12}…/m,
    );
    expect(r.stdout).toContain(`${Math.floor(size / 2)} bytes on disk, the metadata says ${size}`);
    expect(r.stdout).toMatch(/^SKIP {2}restore {6}not run: the dump does not match its metadata's SHA-256$/m);
    expect(r.stdout).toMatch(/^backup verify: 0 passed, 1 failed, 4 skipped$/m);
    expect(r.stdout).not.toContain("scratch database");

    const doc = expectJson(await cli(["backup", "verify", dump, "--format", "json"]), 3, false);
    expect(doc.error?.code).toBe("BACKUP_VERIFY_FAILED");
    expect(doc.error?.message).toMatch(/^backup verify failed: sha256;/);
    expect(doc.scratchDatabase).toBeNull();
    expect(doc.restoreMs).toBeNull();
    const event = await lastEvent(s);
    expect(event.outcome).toBe("failed");
    expect(event.details.checks.failed).toEqual(["sha256"]);
    const marker = JSON.parse(await readFile(`${dump}.verified.json`, "utf8")) as Record<string, unknown>;
    expect(marker).toMatchObject({ ok: false, restoreMs: 0 });
  });

  it("a corrupted dump whose checksum was updated to match fails the restore, and the scratch database is still dropped", async () => {
    const s = "bv_corrupt";
    const { cli } = await setup(s);
    const dump = await backup(cli);
    const size = (await stat(dump)).size;
    const file = await open(dump, "r+");
    await file.write(Buffer.alloc(64, 0xff), 0, 64, Math.floor(size * 0.75));
    await file.close();
    const sha = createHash("sha256")
      .update(await readFile(dump))
      .digest("hex");
    await editMeta(dump, (m) => {
      m.sha256 = sha;
    });

    const doc = expectJson(await cli(["backup", "verify", dump, "--format", "json"]), 3, false);
    expect(verdicts(doc)).toBe("sha256=PASS restore=FAIL history=SKIP fingerprint=SKIP row counts=SKIP");
    const restore = checksOf(doc).restore!;
    // Where the damage lands decides how pg_restore dies: an error it explains, or a crash.
    expect(restore.evidence[0]).toMatch(
      /^pg_restore \d+\.\d+ failed after \d+(\.\d)? m?s( \(exit status 1\); its last words:|: pg_restore was killed by SIG\w+)/,
    );
    if (restore.evidence[0]!.includes("last words"))
      expect(restore.evidence.slice(1).join("\n")).toMatch(/^pg_restore: error: /m);
    expect(typeof doc.restoreMs).toBe("number");
    expect(doc.scratchDatabase).toMatch(/^confiture_scratch_/);
    expect(await databaseExists(doc.scratchDatabase as string)).toBe(false);
    expect((await lastEvent(s)).details.checks.failed).toEqual(["restore"]);
  });

  it("data that does not match the metadata fails row counts, naming the table and both counts", async () => {
    const s = "bv_rows";
    const { cli } = await setup(s);
    const dump = await backup(cli);
    await editMeta(dump, (m) => {
      m.rowCounts.tables.orders = 13;
    });

    const r = await cli(["backup", "verify", dump]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^PASS {2}fingerprint /m);
    expect(r.stdout).toMatch(/^FAIL {2}row counts {3}1 of 2 table\(s\) differ from the metadata$/m);
    expect(r.stdout).toMatch(/^ +orders: 12 row\(s\) restored, the metadata says 13$/m);
    expect(r.stdout).toMatch(/^backup verify: 4 passed, 1 failed, 0 skipped$/m);
  });

  it("a schema that does not match the metadata fails fingerprint, listing what differs when the live schema is unchanged", async () => {
    const s = "bv_fingerprint";
    const { cli } = await setup(s);
    const dump = await backup(cli);
    // The live schema gains a column; its fingerprint (from a second backup) goes into the first's metadata.
    await suite.db.query(`alter table ${s}.users add column nickname text`);
    const { fingerprint } = await readMeta(await backup(cli));
    await editMeta(dump, (m) => {
      m.fingerprint = fingerprint;
    });

    const doc = expectJson(await cli(["backup", "verify", dump, "--format", "json"]), 3, false);
    expect(verdicts(doc)).toBe("sha256=PASS restore=PASS history=PASS fingerprint=FAIL row counts=PASS");
    const evidence = checksOf(doc).fingerprint!.evidence;
    expect(evidence[0]).toMatch(
      /^schema bv_fingerprint restored with fingerprint [0-9a-f]{12}…, the metadata says [0-9a-f]{12}…$/,
    );
    expect(evidence.join("\n")).toContain("column users.nickname: missing");

    // A made-up fingerprint: the differences cannot be known.
    await editMeta(dump, (m) => {
      m.fingerprint = "0".repeat(64);
    });
    const r = await cli(["backup", "verify", dump]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("the live schema changed since the backup, so what differs cannot be shown");
  });

  it("history that does not match the metadata or the migration files fails history", async () => {
    const s = "bv_history";
    const { p, cli } = await setup(s);
    const dump = await backup(cli);
    await editMeta(dump, (m) => {
      m.migrations.appliedCount = 3;
      m.migrations.head = "003_later";
    });
    await p.write("db/migrations/001_users.up.sql", `create table ${s}.users (id bigint primary key);\n`);

    const r = await cli(["backup", "verify", dump]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(
      /^FAIL {2}history {6}2 applied migration\(s\) restored, the metadata says 3; head 002_orders restored, the metadata says 003_later$/m,
    );
    expect(r.stdout).toMatch(
      /^ +001_users: its file changed since it was applied \(recorded [0-9a-f]{12}…, file [0-9a-f]{12}…\)$/m,
    );
  });

  it("--keep keeps the restored scratch database and names it", async () => {
    const s = "bv_keep";
    const { cli } = await setup(s);
    await backup(cli);
    const doc = expectJson(
      await cli(["backup", "verify", "--latest", "--keep", "--format", "json"]),
      0,
      true,
    );
    const name = doc.scratchDatabase as string;
    try {
      expect(doc.kept).toBe(true);
      expect(name).toMatch(/^confiture_scratch_\d{8}T\d{6}_[0-9a-f]{8}_kept$/);
      expect(doc.notes).toEqual([
        `the scratch database ${name} was kept (--keep); when done with it: DROP DATABASE "${name}"`,
      ]);
      const rows = await withClient(urlForDatabase(suite.db.adminUrl, name), (c) =>
        c.query<{ n: string }>(`select count(*)::text as n from ${s}.orders`),
      );
      expect(rows.rows[0]!.n).toBe("12");
      expect((await lastEvent(s)).details.kept).toBe(true);
    } finally {
      await suite.db.query(`drop database if exists "${name}" with (force)`);
    }
  });

  it("--scratch-url restores into the given empty database and empties it again; a non-empty one is refused", async () => {
    const s = "bv_given";
    const { cli } = await setup(s);
    await suite.db.query(
      `create table public.bv_given_public (id int); insert into public.bv_given_public values (1)`,
    );
    const dump = await backup(cli);
    await suite.db.query("drop table public.bv_given_public");
    const given = await createTestDatabase("bv given scratch");
    try {
      const doc = expectJson(
        await cli(["backup", "verify", dump, "--scratch-url", given.url, "--format", "json"]),
        0,
        true,
      );
      expect(doc.scratchDatabase).toBe(given.name);
      expect(verdicts(doc)).toBe("sha256=PASS restore=PASS history=PASS fingerprint=PASS row counts=PASS");
      // Emptied again: the managed schema, the other schemas and public.
      const left = await given.query<{ n: string }>(
        `select count(*)::text as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`,
      );
      expect(left.rows[0]!.n).toBe("0");

      await given.query("create table public.stray (id int)");
      const refused = await cli(["backup", "verify", dump, "--scratch-url", given.url]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        new RegExp(
          `^error: the scratch database ${given.name} \\(--scratch-url\\) is not empty: schema public holds 1 object\\(s\\): table stray\\.`,
        ),
      );
    } finally {
      await given.drop();
    }
  });

  it("a pg_restore older than the dump's pg_dump is TOOL_TOO_OLD naming both; bad input is one line, exit 2", async () => {
    const s = "bv_usage";
    const { cli } = await setup(s);
    const dump = await backup(cli);
    await editMeta(dump, (m) => {
      m.pgDumpVersion = "99.1";
    });
    const old = await cli(["backup", "verify", dump]);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(
      /^error: pg_restore \d+\.\d+.* (is|are) too old: the server runs PostgreSQL \d+\.\d+.* and the dump was made by pg_dump 99\.1, so pg_restore 99 or newer is needed\./,
    );
    expect(old.stdout).toBe("");
    await expect(stat(`${dump}.verified.json`)).rejects.toThrow();

    const cases: Array<[string[], RegExp]> = [
      [[], /^error: give the dump to verify .* or --latest$/],
      [[dump, "--latest"], /^error: give either a dump or --latest, not both/],
      [["nope.dump"], /^error: backup nope\.dump not found \(looked at .*\); run "confiture backup list"/],
      [[dump, "--jobs", "0"], /^error: --jobs must be a whole number of at least 1, got "0"$/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(["backup", "verify", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    const empty = await suite.project(s);
    const none = expectJson(await empty.cli(["backup", "verify", "--latest", "--format", "json"]), 2, false);
    expect(none.error?.code).toBe("BACKUP_NOT_FOUND");
    expect(none.error?.message).toMatch(
      /^--latest found no backup in \S+backups \(a dump with its \.meta\.json\); make one with "confiture backup create"$/,
    );
  });

  it("a password-file line for the configured database also lets pg_restore into the scratch database", async () => {
    const s = "bv_passfile";
    // Superuser: backup create dumps the whole database, other tests' schemas included.
    await withPassFileRole(
      suite,
      s,
      "superuser",
      { "001_t.up.sql": `create table ${s}.t (id int primary key);\n` },
      async ({ cli, env, password }) => {
        expect((await cli(["migrate", "up"], env)).code).toBe(0);
        const made = await cli(["backup", "create"], env);
        expect(made.code, made.stderr).toBe(0);
        const r = await cli(["backup", "verify", "--latest"], env);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout + r.stderr).not.toContain(password);
      },
    );
  });
});
