/**
 * `confiture health check` (SPEC section 6) against real servers: every check listed in order,
 * OK / WARN / CRIT as the database's state says, exit 3 exactly when a check is CRIT (an
 * unreachable server included), one JSON document, no password printed. WAL archiving failures
 * are produced on a small cluster of their own whose archive_command fails.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrationLockKey } from "../../src/db/advisory-lock.js";
import { startArchivingCluster } from "../support/archiving-cluster.js";
import { cliFor, closedPort, eventually, expectJson, fileDatabase, type JsonDoc } from "../support/e2e.js";
import { makeProject } from "../support/project.js";
import { SENTINEL_PASSWORD } from "../support/provided-context.js";

const suite = fileDatabase("health");

const CHECKS = [
  "connection",
  "server",
  "recovery",
  "tracking table",
  "migration lock",
  "pending migrations",
  "failed migrations",
  "checksums",
  "backups",
  "wal archiving",
];

interface Check {
  name: string;
  level: "OK" | "WARN" | "CRIT";
  summary: string;
  details?: Record<string, unknown>;
}

/** The checks of a JSON run, by name. */
function checksOf(doc: JsonDoc): Map<string, Check> {
  return new Map((doc.checks as Check[]).map((c) => [c.name, c]));
}

/** The text table's row for a check: `[level, detail]`. */
function row(stdout: string, name: string): [string, string] | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith(`${name}  `));
  const m = line ? /^.+?\s{2,}(OK|WARN|CRIT)\s{2,}(.*)$/.exec(line) : null;
  return m ? [m[1]!, m[2]!] : undefined;
}

/** `001_a` -> `001_a.up.sql` */
const up = (id: string) => `${id}.up.sql`;

describe("health check", () => {
  it("a healthy project: every check listed in order, exit 0, `healthy`; JSON carries the same", async () => {
    const s = "health_ok";
    await suite.db.query(`create schema ${s}`);
    const { cli } = await suite.project(s, { [up("001_a")]: `create table ${s}.a (id int);\n` });
    expect((await cli(["migrate", "up"])).code).toBe(0);

    const text = await cli(["health", "check"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toBe("");
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CHECK\s+LEVEL\s+DETAIL$/);
    expect(lines.slice(1, -1).map((l) => l.split(/\s{2,}/)[0])).toEqual(CHECKS);
    expect(lines.at(-1)).toBe("healthy");
    expect(row(text.stdout, "connection")?.[1]).toMatch(/^answered in [\d.]+ ms/);
    expect(row(text.stdout, "server")?.[1]).toMatch(/^PostgreSQL \d+\.\d+/);
    expect(row(text.stdout, "recovery")).toEqual(["OK", "primary (not in recovery)"]);
    expect(row(text.stdout, "tracking table")).toEqual([
      "OK",
      `${s}.confiture_migrations present (1 row(s))`,
    ]);
    expect(row(text.stdout, "migration lock")?.[0]).toBe("OK");
    expect(row(text.stdout, "pending migrations")).toEqual(["OK", "none"]);
    expect(row(text.stdout, "failed migrations")).toEqual(["OK", "none"]);
    expect(row(text.stdout, "checksums")).toEqual(["OK", "1 applied file(s) match"]);
    expect(row(text.stdout, "backups")).toEqual(["OK", "not checked: objectives.rpo is not set"]);
    expect(row(text.stdout, "wal archiving")).toEqual(["OK", "off (archive_mode = off)"]);

    const doc = expectJson(await cli(["health", "check", "--format", "json"]), 0, true);
    expect(doc.command).toBe("health check");
    expect(doc.database).toBe(suite.db.name);
    expect(doc.worst).toBe("OK");
    expect(typeof doc.elapsedMs).toBe("number");
    expect((doc.checks as Check[]).map((c) => c.name)).toEqual(CHECKS);
    expect((doc.checks as Check[]).every((c) => c.level === "OK")).toBe(true);
  });

  it("pending migrations and a missing tracking table are warnings: exit 0, `healthy (2 warnings)`", async () => {
    const s = "health_pending";
    await suite.db.query(`create schema ${s}`);
    const { cli } = await suite.project(s, {
      [up("001_a")]: `create table ${s}.a (id int);\n`,
      [up("002_b")]: `create table ${s}.b (id int);\n`,
    });
    const fresh = await cli(["health", "check"]);
    expect(fresh.code, fresh.stdout).toBe(0);
    expect(row(fresh.stdout, "tracking table")?.[0]).toBe("WARN");
    expect(row(fresh.stdout, "tracking table")?.[1]).toContain(
      'run "confiture init" or "confiture migrate up"',
    );
    expect(row(fresh.stdout, "pending migrations")).toEqual(["WARN", "2 pending (oldest 001_a)"]);
    expect(fresh.stdout.trimEnd().split("\n").at(-1)).toBe("healthy (2 warnings)");

    expect((await cli(["migrate", "up", "--target", "001_a"])).code).toBe(0);
    const doc = expectJson(await cli(["health", "check", "--format", "json"]), 0, true);
    const pending = checksOf(doc).get("pending migrations")!;
    expect([pending.level, pending.summary]).toEqual(["WARN", "1 pending (oldest 002_b)"]);
    expect(doc.worst).toBe("WARN");
    // A WARN is a finding of severity "warning" (same code as a CRIT), which does not fail the run.
    expect(doc.report).toEqual({
      ok: true,
      failure: null,
      findings: [
        {
          code: "UNHEALTHY",
          severity: "warning",
          subject: "pending migrations",
          message: "pending migrations: 1 pending (oldest 002_b)",
        },
      ],
    });
  });

  it("a failed migration row is CRIT and exits 3, naming the id", async () => {
    const s = "health_failed";
    await suite.db.query(`create schema ${s}`);
    const { cli } = await suite.project(s, {
      [up("001_a")]: `create table ${s}.a (id int);\n`,
      [up("002_b")]: `-- confiture:no-transaction\ncreate index concurrently b_idx on ${s}.a (id);\n`,
    });
    expect((await cli(["migrate", "up", "--target", "001_a"])).code).toBe(0);
    await suite.db.query(
      `insert into ${s}.confiture_migrations (version, status, error) values ('002_b', 'failed', 'in progress')`,
    );
    const text = await cli(["health", "check"]);
    expect(text.code, text.stdout).toBe(3);
    expect(row(text.stdout, "failed migrations")?.[0]).toBe("CRIT");
    expect(row(text.stdout, "failed migrations")?.[1]).toMatch(/^1 failed: 002_b; settle with/);
    expect(text.stdout.trimEnd().split("\n").at(-1)).toBe("unhealthy: 1 critical");

    const doc = expectJson(await cli(["health", "check", "--format", "json"]), 3, false);
    expect(doc.error?.code).toBe("UNHEALTHY");
    expect(doc.error?.message).toContain("failed migrations: 1 failed: 002_b");
    expect(doc.worst).toBe("CRIT");
    const findings = (doc.report as { findings: Array<{ subject: string; severity: string }> }).findings;
    expect(findings).toEqual([
      expect.objectContaining({ subject: "failed migrations", severity: "critical" }),
    ]);
  });

  it("an applied file that changed is CRIT checksums; a file that is gone is only a warning", async () => {
    const s = "health_checksum";
    await suite.db.query(`create schema ${s}`);
    const { p, cli } = await suite.project(s, {
      [up("001_a")]: `create table ${s}.a (id int);\n`,
      [up("002_b")]: `create table ${s}.b (id int);\n`,
    });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await p.write("db/migrations/002_b.up.sql", `create table ${s}.b (id bigint);\n`);
    const changed = await cli(["health", "check"]);
    expect(changed.code, changed.stdout).toBe(3);
    expect(row(changed.stdout, "checksums")?.[0]).toBe("CRIT");
    expect(row(changed.stdout, "checksums")?.[1]).toContain("1 applied file(s) changed");
    expect(row(changed.stdout, "checksums")?.[1]).toContain("002_b");

    await p.write("db/migrations/002_b.up.sql", `create table ${s}.b (id int);\n`);
    rmSync(p.path("db/migrations/001_a.up.sql"));
    const gone = await cli(["health", "check"]);
    expect(gone.code, gone.stdout).toBe(0);
    expect(row(gone.stdout, "checksums")).toEqual(["WARN", "1 applied migration(s) without a file: 001_a"]);
  });

  it("the migration lock held by another session is a warning naming its pid, application and age", async () => {
    const s = "health_lock";
    await suite.db.query(`create schema ${s}`);
    const { cli } = await suite.project(s, { [up("001_a")]: `create table ${s}.a (id int);\n` });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const holder = new pg.Client({ connectionString: suite.db.url, application_name: "stuck deploy" });
    holder.on("error", () => {});
    await holder.connect();
    try {
      const key = migrationLockKey(s, "confiture_migrations");
      await holder.query("select pg_advisory_lock($1::int4, $2::int4)", [key.classid, key.objid]);
      const pid = (await holder.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
      const text = await cli(["health", "check"]);
      expect(text.code, text.stdout).toBe(0);
      const [level, detail] = row(text.stdout, "migration lock")!;
      expect(level).toBe("WARN");
      expect(detail).toMatch(new RegExp(`^held for \\d+s by pid ${pid}, user confiture_test, `));
      expect(detail).toContain('application "stuck deploy"');
      const doc = expectJson(await cli(["health", "check", "--format", "json"]), 0, true);
      const lock = checksOf(doc).get("migration lock")!;
      expect(lock.details?.holder).toMatchObject({ pid });
    } finally {
      await holder.end();
    }
    expect(row((await cli(["health", "check"])).stdout, "migration lock")?.[0]).toBe("OK");
  });

  it("lost history (an empty history over a schema with objects) is CRIT", async () => {
    const s = "health_lost";
    await suite.db.query(`create schema ${s}`);
    const { cli } = await suite.project(s, { [up("001_a")]: `create table ${s}.a (id int);\n` });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await suite.db.query(`truncate ${s}.confiture_migrations`);
    const text = await cli(["health", "check"]);
    expect(text.code, text.stdout).toBe(3);
    const [level, detail] = row(text.stdout, "tracking table")!;
    expect(level).toBe("CRIT");
    expect(detail).toContain(`is empty but schema ${s} already holds 1 object(s): table a`);
    expect(detail).toContain("confiture migrate baseline --through ID");
  });

  it("an unreachable server is CRIT connection, exit 3; the backups check is still listed; no password", async () => {
    const { cli } = await suite.project("health_down", {}, "objectives:\n  rpo: 1h\n");
    const port = await closedPort();
    const url = `postgres://confiture_test:${encodeURIComponent(SENTINEL_PASSWORD)}@127.0.0.1:${port}/appdb`;
    const text = await cli(["health", "check"], { DATABASE_URL: url });
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(
      new RegExp(
        `^connection\\s+CRIT\\s+cannot connect to postgres://confiture_test:\\*\\*\\*@127\\.0\\.0\\.1:${port}/appdb: `,
        "m",
      ),
    );
    expect(
      text.stdout
        .trimEnd()
        .split("\n")
        .slice(1, -1)
        .map((l) => l.split(/\s{2,}/)[0]),
    ).toEqual(["connection", "backups"]);
    expect(row(text.stdout, "backups")?.[0]).toBe("WARN");

    const doc = expectJson(
      await cli(["health", "check", "--format", "json"], { DATABASE_URL: url }),
      3,
      false,
    );
    expect(doc.error?.code).toBe("UNHEALTHY");
    expect(doc.database).toBe("appdb");
    expect((doc.checks as Check[]).map((c) => [c.name, c.level])).toEqual([
      ["connection", "CRIT"],
      ["backups", "WARN"],
    ]);
  });

  it("backups against objectives.rpo: CRIT when the newest is stale, OK when fresh, WARN when none; only backups with metadata count", async () => {
    const s = "health_backups";
    await suite.db.query(`create schema ${s}`);
    const { p, cli } = await suite.project(s, {}, "objectives:\n  rpo: 1h\nbackup:\n  dir: dumps\n");
    const backup = (c: Check | undefined) => [c?.level, c?.summary];
    const run = async (exit: number) =>
      checksOf(expectJson(await cli(["health", "check", "--format", "json"]), exit, exit === 0)).get(
        "backups",
      );
    const dumps = p.path("dumps");
    const db = suite.db.name;
    const take = `run "confiture backup create" (it writes ${dumps}/${db}_<YYYYMMDDTHHMMSSZ>.dump and its metadata)`;
    /** Take a real backup, then move it to `ms` (its name and its metadata's startedAt). */
    const backupAt = async (ms: number): Promise<string> => {
      const made = expectJson(await cli(["backup", "create", "--format", "json"]), 0, true);
      const name = `${db}_${stamp(ms)}.dump`;
      const at = new Date(ms).toISOString();
      renameSync(made.path as string, join(dumps, name));
      rmSync(made.metaPath as string);
      const metadata = {
        ...(made.metadata as Record<string, unknown>),
        file: name,
        startedAt: at,
        finishedAt: at,
      };
      writeFileSync(join(dumps, `${name}.meta.json`), JSON.stringify(metadata));
      return name;
    };

    const missing = await run(0);
    expect(backup(missing)).toEqual([
      "WARN",
      `no backup in ${dumps} (the directory does not exist): ${take}`,
    ]);
    mkdirSync(dumps);
    // Another database's backup and names that only look like one do not count.
    const now = Date.now();
    await p.write(`dumps/other_${stamp(now - 60_000)}.dump`, "x");
    await p.write(`dumps/${db}_${stamp(now - 60_000)}.dump.json`, "{}");
    await p.write(`dumps/${db}_20261399T000000Z.dump`, "x");
    expect(backup(await run(0))).toEqual(["WARN", `no backup in ${dumps}: ${take}`]);

    // A dump named like one but without metadata (a hand-made pg_dump): named, never counted.
    const handMade = `${db}_${stamp(now - 120_000)}.dump`;
    await p.write(`dumps/${handMade}`, "PGDMP");
    const noMeta = await run(0);
    expect(noMeta?.level).toBe("WARN");
    expect(noMeta?.summary).toBe(
      `no backup in ${dumps} (not counted as a backup: ${handMade} (no metadata file (not made by "confiture backup create", or its metadata was lost))): ${take}`,
    );
    rmSync(p.path(`dumps/${handMade}`));

    const stale = await backupAt(now - 3 * 3_600_000);
    const old = await run(3);
    expect(old?.level).toBe("CRIT");
    expect(old?.summary).toBe(`newest ${stale} (3h0m old) is older than objectives.rpo (1h): ${take}`);

    // Dated tomorrow, or metadata whose dump is gone: neither is a fresh backup.
    const future = await backupAt(now + 24 * 3_600_000);
    const gone = await backupAt(now - 600_000);
    rmSync(join(dumps, gone));
    const notFresh = await run(3);
    expect(notFresh?.level).toBe("CRIT");
    expect(notFresh?.summary).toBe(
      `newest ${stale} (3h0m old) is older than objectives.rpo (1h); not counted as a backup: ` +
        `${future} (dated in the future), ${gone} (incomplete: metadata without its dump (interrupted or deleted)): ${take}`,
    );
    expect(notFresh?.details?.newest).toBe(stale);

    // A directory-format backup taken now is the newest; the two above still warn.
    await p.write(
      "confiture.yaml",
      `schema: ${s}\nobjectives:\n  rpo: 1h\nbackup:\n  dir: dumps\n  format: directory\n`,
    );
    expect((await cli(["backup", "create"])).code).toBe(0);
    const warned = await run(0);
    expect(warned?.level).toBe("WARN");
    const fresh = warned?.details?.newest as string;
    expect(statSync(join(dumps, fresh)).isDirectory()).toBe(true);
    expect(warned?.summary).toMatch(
      new RegExp(
        `^newest ${fresh} \\(\\d+s old\\), within objectives.rpo \\(1h\\); not counted as a backup: ${future} `,
      ),
    );
    rmSync(join(dumps, `${future}.meta.json`));
    rmSync(join(dumps, future));
    rmSync(join(dumps, `${gone}.meta.json`));
    const ok = await run(0);
    expect(ok?.level).toBe("OK");
    expect(ok?.summary).toMatch(
      new RegExp(`^newest ${fresh} \\(\\d+s old\\), within objectives.rpo \\(1h\\)$`),
    );
  });

  it("WAL archiving that fails now is CRIT; once it archives again, a warning", async () => {
    const cluster = await startArchivingCluster("false");
    try {
      const project = await makeProject({ config: "schema: public\n" });
      suite.track(project);
      const cli = cliFor(project.dir, { DATABASE_URL: cluster.url });
      const wal = async (exit: number) =>
        checksOf(expectJson(await cli(["health", "check", "--format", "json"]), exit, exit === 0)).get(
          "wal archiving",
        )!;

      await cluster.query(
        "create schema w; create table w.t (x int); insert into w.t select generate_series(1, 1000)",
      );
      const segment = (await cluster.query<{ w: string }>("select pg_walfile_name(pg_switch_wal()) as w"))[0]!
        .w;
      await eventually(
        async () =>
          Number(
            (await cluster.query<{ n: string }>("select failed_count as n from pg_stat_archiver"))[0]!.n,
          ) > 0
            ? true
            : undefined,
        "pg_stat_archiver to count a failure",
      );
      const failing = await wal(3);
      expect(failing.level).toBe("CRIT");
      expect(failing.summary).toContain(`failing: the last attempt failed (${segment} at `);
      expect(failing.summary).toContain("no WAL was archived yet");

      await cluster.query("alter system set archive_command = 'true'");
      await cluster.query("select pg_reload_conf()");
      await eventually(
        async () =>
          (
            await cluster.query<{ ok: boolean }>(
              "select last_archived_wal is not null as ok from pg_stat_archiver",
            )
          )[0]!.ok
            ? true
            : undefined,
        "the archiver to succeed",
      );
      const recovered = await wal(0);
      expect(recovered.level).toBe("WARN");
      expect(recovered.summary).toMatch(/^\d+ failure\(s\) since .*; archived since: /);
    } finally {
      cluster.stop();
    }
  });
});

/** `20261125T013000Z` for a time in ms. */
function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}
