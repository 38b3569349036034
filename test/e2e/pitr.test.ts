/**
 * Point-in-time recovery: `pitr status` (archiving and the RPO exposure), `pitr recover`
 * (recovery.signal + postgresql.auto.conf in a stopped data directory, refusing a running one),
 * `pitr base-backup`, and the whole story on a throwaway archiving cluster: base backup, rows
 * before and after a time T, a destructive DELETE, recovery to T.
 */
import { execFileSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ArchivingCluster, startArchivingCluster } from "../support/archiving-cluster.js";
import { cliFor, eventually, expectJson, fileDatabase } from "../support/e2e.js";
import { makeProject } from "../support/project.js";

const suite = fileDatabase("pitr");
const isRoot = process.getuid?.() === 0;
const pgOwner = isRoot
  ? {
      uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
      gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
    }
  : undefined;

/** A temp directory the server (postgres) may write: the WAL archive. */
function serverDir(label: string): string {
  const dir = mkdtempSync(join("/tmp", `confiture-pitr-${label}-`));
  if (pgOwner) chownSync(dir, pgOwner.uid, pgOwner.gid);
  return dir;
}

/** Switch WAL and wait until the archiver has copied that segment (or a later one). */
async function switchAndArchive(c: ArchivingCluster): Promise<string> {
  const [sw] = await c.query<{ wal: string }>("select pg_walfile_name(pg_switch_wal()) as wal");
  const wal = sw!.wal;
  await eventually(async () => {
    const [a] = await c.query<{ last: string | null }>(
      "select last_archived_wal as last from pg_stat_archiver",
    );
    return a?.last != null && a.last >= wal ? true : undefined;
  }, `WAL ${wal} to be archived`);
  return wal;
}

/** Stop the cluster and replace its data directory with the base backup in `backupDir`. */
async function restoreBaseBackup(c: ArchivingCluster, backupDir: string): Promise<void> {
  await c.stopFast();
  renameSync(c.data, `${c.data}.damaged`);
  mkdirSync(c.data, { mode: 0o700 });
  const tarOf = (name: string) => {
    const f = [`${name}.tar`, `${name}.tar.gz`].map((n) => join(backupDir, n)).find((p) => existsSync(p));
    if (!f) throw new Error(`no ${name}.tar in ${backupDir}`);
    return f;
  };
  execFileSync("tar", ["-xf", tarOf("base"), "-C", c.data]);
  execFileSync("tar", ["-xf", tarOf("pg_wal"), "-C", join(c.data, "pg_wal")]);
  if (pgOwner) execFileSync("chown", ["-R", `${pgOwner.uid}:${pgOwner.gid}`, c.data]);
}

/** Start the recovered server and wait until it has promoted itself. */
async function startAndWaitPromoted(c: ArchivingCluster): Promise<void> {
  await c.start();
  await eventually(
    async () => {
      try {
        const [r] = await c.query<{ rec: boolean }>("select pg_is_in_recovery() as rec");
        return r?.rec === false ? true : undefined;
      } catch {
        return undefined;
      }
    },
    "the recovered server to promote",
    30_000,
  );
}

describe("pitr status", () => {
  it("on the shared cluster (archiving off): WARN, exit 0, every setting shown, JSON and text", async () => {
    const { cli } = await suite.project("pitr_off");
    const doc = expectJson(await cli(["pitr", "status", "--format", "json"]), 0, true);
    expect(doc).toMatchObject({
      command: "pitr status",
      archiveMode: "off",
      level: "WARN",
      exposureMs: null,
    });
    expect(typeof doc.walLevel).toBe("string");
    expect(doc.archiver).toMatchObject({
      archivedCount: expect.any(Number),
      failedCount: expect.any(Number),
    });
    expect(String(doc.summary)).toContain("archive_mode = off");
    const text = await cli(["pitr", "status"]);
    expect(text.code, text.stderr).toBe(0);
    for (const label of [
      "wal_level",
      "archive_mode",
      "archive_command",
      "archived",
      "failed",
      "rpo exposure",
    ])
      expect(text.stdout).toMatch(new RegExp(`^${label}\\s`, "m"));
    expect(text.stdout).toMatch(/^WARN {2}WAL archiving is off/m);
  });

  it("on an archiving cluster: OK with the last archived WAL; CRIT (exit 3, PITR_AT_RISK) once it is older than objectives.rpo", async () => {
    const archive = serverDir("archive");
    const cluster = await startArchivingCluster(`cp %p ${archive}/%f`);
    const p = await makeProject({ config: "schema: public\n" });
    const strict = await makeProject({ config: "schema: public\nobjectives:\n  rpo: 1s\n" });
    suite.track(p);
    suite.track(strict);
    try {
      await cluster.query("create table filler (id int)");
      const wal = await switchAndArchive(cluster);
      const cli = cliFor(p.dir, { DATABASE_URL: cluster.url });
      const doc = expectJson(await cli(["pitr", "status", "--format", "json"]), 0, true);
      expect(doc).toMatchObject({ archiveMode: "on", level: "OK", archiveCommand: `cp %p ${archive}/%f` });
      expect((doc.archiver as { lastArchivedWal: string }).lastArchivedWal >= wal).toBe(true);
      expect((doc.archiver as { archivedCount: number }).archivedCount).toBeGreaterThan(0);
      expect(doc.exposureMs).toEqual(expect.any(Number));

      await new Promise((r) => setTimeout(r, 1500));
      const late = cliFor(strict.dir, { DATABASE_URL: cluster.url });
      const crit = expectJson(await late(["pitr", "status", "--format", "json"]), 3, false);
      expect(crit.level).toBe("CRIT");
      expect(crit.error?.code).toBe("PITR_AT_RISK");
      const text = await late(["pitr", "status"]);
      expect(text.code).toBe(3);
      expect(text.stdout).toMatch(
        /^CRIT {2}the last archived WAL \(\w+\) is .* old, more than objectives.rpo \(1s\)/m,
      );
    } finally {
      cluster.stop();
      rmSync(archive, { recursive: true, force: true });
    }
  });
});

describe("pitr recover", () => {
  it("refuses a running data directory (exit 2, nothing written)", async () => {
    const cluster = await startArchivingCluster("true");
    try {
      const autoConf = join(cluster.data, "postgresql.auto.conf");
      const before = readFileSync(autoConf, "utf8");
      const cli = cliFor("/tmp", { DATABASE_URL: undefined });
      const r = await cli([
        "pitr",
        "recover",
        "--pgdata",
        cluster.data,
        "--target-time",
        "2024-01-15T14:30:00Z",
        "--restore-command",
        "cp /nowhere/%f %p",
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is running \(postmaster.pid names live process \d+\): stop it first/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(existsSync(join(cluster.data, "recovery.signal"))).toBe(false);
      expect(readFileSync(autoConf, "utf8")).toBe(before);
    } finally {
      cluster.stop();
    }
  });

  it("on a stopped data directory: recovery.signal and the settings; re-run replaces them; bad input exits 2 writing nothing", async () => {
    const data = mkdtempSync(join("/tmp", "confiture-pitr-pgdata-"));
    try {
      writeFileSync(join(data, "PG_VERSION"), "16\n");
      writeFileSync(join(data, "postgresql.auto.conf"), "work_mem = '8MB'\nrecovery_target_lsn = '0/1'\n");
      writeFileSync(join(data, "postmaster.pid"), "2147483646\n/x\n"); // stale: no such process
      const cli = cliFor("/tmp", { DATABASE_URL: undefined });
      const base = ["pitr", "recover", "--pgdata", data, "--restore-command", "cp '/mnt/arch ive'/%f %p"];

      for (const bad of [
        "yesterday",
        "2024-01-15 14:30:00",
        "2024-02-30T10:00:00Z",
        "2024-01-15T25:00:00Z",
      ]) {
        const r = await cli([...base, "--target-time", bad]);
        expect(r.code, bad).toBe(2);
        expect(r.stderr).toContain("is not a valid time with a zone");
      }
      expect((await cli([...base])).code).toBe(2); // no target
      expect(
        (await cli([...base, "--target-time", "2024-01-15T14:30:00Z", "--target-action", "jump"])).code,
      ).toBe(2);
      expect(existsSync(join(data, "recovery.signal"))).toBe(false);

      const doc = expectJson(
        await cli([
          ...base,
          "--target-time",
          "2024-01-15T14:30:00.25+01:00",
          "--target-action",
          "promote",
          "--format",
          "json",
        ]),
        0,
        true,
      );
      expect(doc).toMatchObject({
        method: "recovery.signal",
        serverMajor: 16,
        disabled: ["recovery_target_lsn = '0/1'"],
      });
      expect(String(doc.warnings)).toContain("which is gone");
      expect(existsSync(join(data, "recovery.signal"))).toBe(true);
      expect(readFileSync(join(data, "postgresql.auto.conf"), "utf8")).toBe(
        "work_mem = '8MB'\n" +
          "# disabled by confiture pitr recover: recovery_target_lsn = '0/1'\n" +
          "# confiture pitr recover: begin (these lines are replaced when it runs again)\n" +
          "restore_command = 'cp ''/mnt/arch ive''/%f %p'\n" +
          "recovery_target_time = '2024-01-15 14:30:00.25+01:00'\n" +
          "recovery_target_inclusive = 'false'\n" +
          "recovery_target_action = 'promote'\n" +
          "# confiture pitr recover: end\n",
      );

      // Again, to a restore point: the earlier block is replaced, not added to.
      const again = await cli([...base, "--before-migration", "002_drop_orders"]);
      expect(again.code, again.stderr).toBe(0);
      const conf = readFileSync(join(data, "postgresql.auto.conf"), "utf8");
      expect(conf.match(/^restore_command/gm)).toHaveLength(1);
      expect(conf).not.toContain("recovery_target_time");
      expect(conf).toContain("recovery_target_name = 'confiture_before_002_drop_orders'\n");
      expect(conf).toContain("recovery_target_action = 'pause'\n");
      expect(again.stdout).toContain("select pg_wal_replay_resume()");
      expect(again.stdout).toMatch(/pg_ctl -D \S+ .*start/);
      expect(again.stdout).toContain("confiture migrate status");
      expect(again.stdout).toContain("confiture verify");

      // An old server: recovery.conf, as it needs.
      writeFileSync(join(data, "PG_VERSION"), "11\n");
      const old = expectJson(
        await cli([...base, "--target-time", "2024-01-15T14:30:00Z", "--format", "json"]),
        0,
        true,
      );
      expect(old.method).toBe("recovery.conf");
      expect(readFileSync(join(data, "recovery.conf"), "utf8")).toContain(
        "recovery_target_time = '2024-01-15 14:30:00+00'",
      );

      // Not a data directory.
      const none = await cli([
        "pitr",
        "recover",
        "--pgdata",
        "/tmp",
        "--target-time",
        "2024-01-15T14:30:00Z",
        "--restore-command",
        "cp /a/%f %p",
      ]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain("is not a PostgreSQL data directory");
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe("the PITR story", () => {
  it("base backup, rows before and after T, a destructive DELETE; recovered to T: everything before T, nothing after", async () => {
    const archive = serverDir("archive");
    const backups = mkdtempSync(join("/tmp", "confiture-pitr-base-"));
    const backupDir = join(backups, "base");
    const cluster = await startArchivingCluster(`cp %p ${archive}/%f`);
    const p = await makeProject({ config: "schema: public\n" });
    suite.track(p);
    try {
      const cli = cliFor(p.dir, { DATABASE_URL: cluster.url });
      await cluster.query("create table orders (id int primary key, note text)");

      // A non-empty --dir is refused before anything runs.
      mkdirSync(join(backups, "busy"));
      writeFileSync(join(backups, "busy", "x"), "");
      const busy = await cli(["pitr", "base-backup", "--dir", join(backups, "busy")]);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain("is not empty");

      const bb = await cli([
        "pitr",
        "base-backup",
        "--dir",
        backupDir,
        "--fast-checkpoint",
        "--format",
        "json",
      ]);
      const doc = expectJson(bb, 0, true);
      const names = (doc.files as { name: string }[]).map((f) => f.name);
      expect(names).toEqual(expect.arrayContaining(["base.tar", "pg_wal.tar"]));

      for (const id of [1, 2, 3]) await cluster.query(`insert into orders values (${id}, 'before T')`);
      await new Promise((r) => setTimeout(r, 1000));
      const [t] = await cluster.query<{ t: string }>("select now()::text as t");
      await new Promise((r) => setTimeout(r, 1000));
      for (const id of [4, 5]) await cluster.query(`insert into orders values (${id}, 'after T')`);
      await cluster.query("delete from orders where id <= 2");
      await switchAndArchive(cluster);

      await restoreBaseBackup(cluster, backupDir);
      const rec = await cli([
        "pitr",
        "recover",
        "--pgdata",
        cluster.data,
        "--target-time",
        t!.t,
        "--restore-command",
        `cp ${archive}/%f %p`,
        "--target-action",
        "promote",
      ]);
      expect(rec.code, rec.stderr).toBe(0);
      await startAndWaitPromoted(cluster);

      const rows = await cluster.query<{ id: number; note: string }>(
        "select id, note from orders order by id",
      );
      expect(rows).toEqual([1, 2, 3].map((id) => ({ id, note: "before T" })));
      expect(readFileSync(join(cluster.base, "log"), "utf8")).toMatch(
        /recovery stopping before commit of transaction/,
      );
    } finally {
      cluster.stop();
      rmSync(archive, { recursive: true, force: true });
      rmSync(backups, { recursive: true, force: true });
    }
  }, 60_000);

  it("--before-migration: back to the restore point migrate up made before a destructive migration", async () => {
    const archive = serverDir("archive");
    const backups = mkdtempSync(join("/tmp", "confiture-pitr-base-"));
    const backupDir = join(backups, "base");
    const cluster = await startArchivingCluster(`cp %p ${archive}/%f`);
    const p = await makeProject({
      config: "schema: public\n",
      migrations: {
        "001_orders.up.sql":
          "create table orders (id int primary key);\ninsert into orders select generate_series(1, 10);\n",
        "002_drop_orders.up.sql": "drop table orders;\n",
      },
    });
    suite.track(p);
    try {
      const cli = cliFor(p.dir, { DATABASE_URL: cluster.url });
      const bb = await cli(["pitr", "base-backup", "--dir", backupDir, "--fast-checkpoint", "--compress"]);
      expect(bb.code, bb.stderr).toBe(0);
      expect(bb.stdout).toMatch(/base\.tar\.gz/);
      expect((await cli(["migrate", "up", "--target", "001_orders"])).code).toBe(0);
      const up = await cli(["migrate", "up"]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain("confiture_before_002_drop_orders");
      expect(await cluster.query("select to_regclass('orders') as t")).toEqual([{ t: null }]);
      await switchAndArchive(cluster);

      await restoreBaseBackup(cluster, backupDir);
      const rec = await cli([
        "pitr",
        "recover",
        "--pgdata",
        cluster.data,
        "--before-migration",
        "002_drop_orders",
        "--restore-command",
        `cp ${archive}/%f %p`,
        "--target-action",
        "promote",
      ]);
      expect(rec.code, rec.stderr).toBe(0);
      await startAndWaitPromoted(cluster);
      const [n] = await cluster.query<{ n: string }>("select count(*)::text as n from orders");
      expect(n!.n).toBe("10");
      expect(readFileSync(join(cluster.base, "log"), "utf8")).toContain(
        'recovery stopping at restore point "confiture_before_002_drop_orders"',
      );
    } finally {
      cluster.stop();
      rmSync(archive, { recursive: true, force: true });
      rmSync(backups, { recursive: true, force: true });
    }
  }, 60_000);
});
