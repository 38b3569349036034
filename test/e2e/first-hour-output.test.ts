/**
 * The first hour's output (issue 7, items 6, 7 and 11), end to end through the built CLI: a failed
 * `up` keeps the `applied` lines of what it applied before the failure; `down` ends with a summary,
 * takes bare versions as `--target`, and says when there is nothing to roll back; `lock status`
 * shows the holder and the waiters as aligned blocks with ISO times and ages; every subcommand's
 * `--help` lists the global options and an example; `-q`; and `confiture events`, the audit log.
 */
import { hostname } from "node:os";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrationLockKey } from "../../src/db/advisory-lock.js";
import { TEST_ROLE } from "../support/database.js";
import { eventually, expectJson, fileDatabase, watchCli } from "../support/e2e.js";

const suite = fileDatabase("first hour output");
/** A project whose confiture.yaml manages `schema`, and a CLI bound to it and the test database. */
const setup = suite.project;

async function applied(schema: string): Promise<string[]> {
  const r = await suite.db.query<{ version: string }>(
    `select version from ${schema}.confiture_migrations where status = 'applied' order by version`,
  );
  return r.rows.map((row) => row.version);
}

async function exists(qualified: string): Promise<boolean> {
  const r = await suite.db.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [qualified]);
  return r.rows[0]?.ok === true;
}

/** stdout as lines, durations `(12 ms)` replaced by `(N ms)`. */
const lines = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => l.replace(/\(\d+ ms\)$/, "(N ms)"));

/** Three migrations with down files, each creating one table. */
const three = (s: string) => ({
  "001_a.up.sql": `create table ${s}.t1 (id int);\n`,
  "001_a.down.sql": `drop table ${s}.t1;\n`,
  "002_b.up.sql": `create table ${s}.t2 (id int);\n`,
  "002_b.down.sql": `drop table ${s}.t2;\n`,
  "003_c.up.sql": `create table ${s}.t3 (id int);\n`,
  "003_c.down.sql": `drop table ${s}.t3;\n`,
});

describe("item 6: a failed up keeps what it applied on stdout", () => {
  it("prints the applied lines of the two migrations before the failure, then only the error (exit 1)", async () => {
    const s = "out_fail";
    const { cli } = await setup(s, {
      "001_a.up.sql": `create table ${s}.a (id int);\n`,
      "002_b.up.sql": `create table ${s}.b (id int);\n`,
      "003_c.up.sql": `create table ${s}.c (id int);\ninsert into ${s}.nope values (1);\n`,
    });
    const r = await cli(["migrate", "up"]);
    expect(r.code).toBe(1);
    // Each line as it was committed; no summary, because the run failed.
    expect(lines(r.stdout)).toEqual(["applied 001_a (N ms)", "applied 002_b (N ms)"]);
    expect(r.stderr).toMatch(/^error: migration 003_c failed at line 2 .*\(42P01\)/m);
    expect(r.stderr).toContain("Applied earlier in this run and kept: 001_a, 002_b.");
    expect(await applied(s)).toEqual(["001_a", "002_b"]);
    expect(await exists(`${s}.c`)).toBe(false);

    // --quiet (and -q) print nothing on stdout, even for what was applied.
    const quiet = await cli(["migrate", "up", "-q"]);
    expect(quiet.code).toBe(1);
    expect(quiet.stdout).toBe("");

    // JSON stays one document, naming what was applied before the failure.
    const j = "out_fail_json";
    const json = await setup(j, {
      "001_a.up.sql": `create table ${j}.a (id int);\n`,
      "002_b.up.sql": `insert into ${j}.nope values (1);\n`,
    });
    const doc = expectJson(await json.cli(["migrate", "up", "--format", "json"]), 1, false);
    expect(doc.error?.code).toBe("MIGRATION_FAILED");
    expect(doc.error?.details).toMatchObject({ appliedBeforeFailure: ["001_a"] });
    expect(await applied(j)).toEqual(["001_a"]);

    // Once fixed, each line is printed once, then the summary.
    await json.p.write("db/migrations/002_b.up.sql", `create table ${j}.b (id int);\n`);
    await json.p.write("db/migrations/003_c.up.sql", `create table ${j}.c (id int);\n`);
    const ok = await json.cli(["migrate", "up"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(lines(ok.stdout)).toEqual([
      "applied 002_b (N ms)",
      "applied 003_c (N ms)",
      "2 migration(s) applied (1 were already applied).",
    ]);
  });
});

describe("item 6: down", () => {
  it("--target takes a bare version like up does, and ends with a summary line", async () => {
    const s = "out_down";
    const { cli } = await setup(s, three(s));
    expect((await cli(["migrate", "up"])).code).toBe(0);

    const r = await cli(["migrate", "down", "--target", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual([
      "rolled back 003_c (N ms)",
      "rolled back 002_b (N ms)",
      "2 migration(s) rolled back.",
    ]);
    expect(await applied(s)).toEqual(["001_a"]);
    expect(await exists(`${s}.t1`)).toBe(true);
    expect(await exists(`${s}.t2`)).toBe(false);

    // A bare version with leading zeros, in JSON: the target is named by its id.
    expect((await cli(["migrate", "up"])).code).toBe(0);
    const json = expectJson(await cli(["migrate", "down", "--target", "0002", "--format", "json"]), 0, true);
    expect(json).toMatchObject({ target: "002_b", rolledBack: [{ id: "003_c" }] });
    expect(await applied(s)).toEqual(["001_a", "002_b"]);

    const steps = await cli(["migrate", "down", "--steps", "1"]);
    expect(steps.code, steps.stderr).toBe(0);
    expect(lines(steps.stdout)).toEqual(["rolled back 002_b (N ms)", "1 migration(s) rolled back."]);

    const dry = await cli(["migrate", "down", "--steps", "1", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(lines(dry.stdout)).toEqual([
      "would roll back 001_a (N ms)",
      "Dry run: 1 migration(s) ran and were rolled back; nothing was changed.",
    ]);
    expect(await applied(s)).toEqual(["001_a"]);
  });

  it("a target that leaves nothing to roll back says so (exit 0) and changes nothing", async () => {
    const s = "out_down_none";
    const { cli } = await setup(s, three(s));
    expect((await cli(["migrate", "up"])).code).toBe(0);
    for (const target of ["003_c", "3"]) {
      const r = await cli(["migrate", "down", "--target", target]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe("Nothing to roll back: 003_c is the newest applied migration.\n");
    }
    expect(await applied(s)).toEqual(["001_a", "002_b", "003_c"]);
    expect(await exists(`${s}.t3`)).toBe(true);
    const json = expectJson(await cli(["migrate", "down", "--target", "3", "--format", "json"]), 0, true);
    expect(json).toMatchObject({ rolledBack: [], target: "003_c" });

    // A version that is not applied is still "not an applied migration".
    const missing = await cli(["migrate", "down", "--target", "4"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('target "4" is not an applied migration');
  });
});

describe("item 7: lock status", () => {
  it("shows the holder and each waiter as an aligned block: ISO time and age, state, query cut at a word", async () => {
    const s = "out_lock";
    const { p, cli } = await setup(s, { "001_a.up.sql": `create table ${s}.a (id int);\n` });
    expect((await cli(["init"])).code).toBe(0);

    const holder = new pg.Client({ connectionString: suite.db.url, application_name: "stuck deploy" });
    holder.on("error", () => {});
    await holder.connect();
    let waiter: ReturnType<typeof watchCli> | undefined;
    try {
      const key = migrationLockKey(s, "confiture_migrations");
      const pid = (await holder.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
      await holder.query("select pg_advisory_lock($1::int4, $2::int4)", [key.classid, key.objid]);
      // The holder's last query: long, with words, so the cut can land between two of them.
      const query = `select ${Array.from({ length: 30 }, (_, i) => `1 as column_number_${i}`).join(", ")}`;
      await holder.query(query);

      // Someone queues behind it.
      waiter = watchCli(["migrate", "up"], {
        cwd: p.dir,
        env: { DATABASE_URL: suite.db.url, CONFITURE_LOCK_TIMEOUT: "60s" },
      });
      const waiterPid = await eventually(async () => {
        const r = await suite.db.query<{ pid: number }>(
          "select pid from pg_locks where locktype = 'advisory' and not granted and objid = $1::bigint::oid",
          [key.objid],
        );
        return r.rows[0]?.pid;
      }, "the waiting migrate up");

      const r = await cli(["lock", "status"]);
      expect(r.code, r.stderr).toBe(0);
      const out = r.stdout.trimEnd().split("\n");
      const iso = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+s ago\)`;
      expect(out[0]).toBe(`The migration lock (${s}.confiture_migrations) is held by:`);
      expect(out.slice(1, 7)).toEqual([
        `  pid          ${pid}`,
        `  user         ${TEST_ROLE}`,
        expect.stringMatching(/^ {2}host {9}\S+$/),
        "  application  stuck deploy",
        expect.stringMatching(new RegExp(`^  since        ${iso}$`)),
        expect.stringMatching(/^ {2}state {8}idle \(for \d+s\)$/),
      ]);
      // Shortened to about 120 characters, after a whole word, not in the middle of one.
      const shown = /^ {2}query {8}(.*)…$/.exec(out[7]!)?.[1];
      expect(shown, out[7]).toBeDefined();
      expect(query.startsWith(shown!)).toBe(true);
      expect(query[shown!.length]).toBe(" ");
      expect(shown!.length).toBeGreaterThan(90);
      expect(shown!.length).toBeLessThanOrEqual(120);
      expect(out[8]).toBe("1 session(s) waiting for it, oldest first:");
      expect(out.slice(9)).toEqual([
        `  pid          ${waiterPid}`,
        `  user         ${TEST_ROLE}`,
        expect.stringMatching(/^ {2}host {9}\S+$/),
        "  application  confiture: migrate up",
        expect.stringMatching(new RegExp(`^  since        ${iso}$`)),
        expect.stringMatching(/^ {2}state {8}active \(for \d+s\)$/),
        expect.stringMatching(/^ {2}query {8}select pg_advisory_lock\(/),
      ]);

      // JSON keeps its fields and adds the ISO times and ages.
      const json = expectJson(await cli(["lock", "status", "--format", "json"]), 0, true);
      expect(json).toMatchObject({
        held: true,
        holder: {
          pid,
          user: TEST_ROLE,
          application: "stuck deploy",
          state: "idle",
          since: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/),
          sinceIso: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          sinceSeconds: expect.any(Number),
          stateSeconds: expect.any(Number),
        },
        waiting: [{ pid: waiterPid, granted: false }],
      });

      // The LOCK_TIMEOUT message stays one line, with the ISO time.
      const timedOut = await cli(["migrate", "up"], { CONFITURE_LOCK_TIMEOUT: "1s" });
      expect(timedOut.code).toBe(4);
      expect(timedOut.stderr).toMatch(
        new RegExp(`not released within 1s: pid ${pid}, user ${TEST_ROLE}, .*, since ${iso}, state idle`),
      );

      // Once the holder lets go, the waiter runs.
      await holder.query("select pg_advisory_unlock($1::int4, $2::int4)", [key.classid, key.objid]);
      const done = await waiter.done;
      expect(done.code, done.stderr).toBe(0);
      expect(await applied(s)).toEqual(["001_a"]);
    } finally {
      waiter?.child.kill("SIGKILL");
      await holder.end().catch(() => {});
    }
  });
});

describe("item 11: help, -q, messages", () => {
  it("every subcommand's --help lists the global options and shows an example", async () => {
    const { cli } = await setup("out_help");
    const commands = [
      ["init"],
      ["migrate", "generate"],
      ["migrate", "up"],
      ["migrate", "down"],
      ["migrate", "status"],
      ["migrate", "verify-checksums"],
      ["migrate", "checksum"],
      ["migrate", "baseline"],
      ["migrate", "resolve"],
      ["lock", "status"],
      ["unlock"],
      ["events"],
      ["config", "show"],
    ];
    for (const command of commands) {
      const r = await cli([...command, "--help"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Usage: confiture ${command.join(" ")}`);
      expect(r.stdout).toMatch(/\nGlobal Options:\n/);
      for (const global of ["-c, --config <file>", "-e, --env <name>", "--database-url <url>", "-q, --quiet"])
        expect(r.stdout, command.join(" ")).toContain(global);
      expect(r.stdout).toMatch(new RegExp(`\\nExamples?:\\n {2}\\$ confiture .*${command.at(-1)}`));
    }
  });

  it("-q works like --quiet", async () => {
    const s = "out_quiet";
    const { cli } = await setup(s, { "001_a.up.sql": `create table ${s}.a (id int);\n` });
    const r = await cli(["migrate", "up", "-q"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("");
    expect(await applied(s)).toEqual(["001_a"]);
    const before = await cli(["-q", "migrate", "status"]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toBe("");
  });

  it("stdout sentences start with a capital and end with a full stop; per-item lines start with their verb", async () => {
    const s = "out_case";
    const { p, cli } = await setup(s);
    const init = await cli(["init"]);
    expect(init.code, init.stderr).toBe(0);
    expect(lines(init.stdout)).toEqual([`created ${p.path("db/schema")}`, "created the tracking table"]);
    expect((await cli(["init"])).stdout).toBe("The tracking table already exists.\n");
    expect((await cli(["unlock"])).stdout).toBe("The migration lock is not held; nothing to do.\n");
    const gen = await cli(["migrate", "generate", "users"]);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toMatch(/^created .*_users\.up\.sql\ncreated .*_users\.down\.sql\n$/);
  });
});

describe("item 11: confiture events", () => {
  it("a database without the events table has no events yet (exit 0)", async () => {
    const s = "out_ev_none";
    const { cli } = await setup(s);
    const r = await cli(["events"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      `No events yet: ${s}.confiture_events does not exist, so no command has changed this database.\n`,
    );
    const json = expectJson(await cli(["events", "--format", "json"]), 0, true);
    expect(json).toMatchObject({ command: "events", tableExists: false, events: [], more: false });
    expect(await exists(`${s}.confiture_events`)).toBe(false);
  });

  it("shows the audit log as a table, newest first; JSON, --limit and --since", async () => {
    const s = "out_ev";
    const { cli } = await setup(s, three(s));
    expect((await cli(["init"])).code).toBe(0);
    expect((await cli(["migrate", "up"])).code).toBe(0);
    expect((await cli(["migrate", "down", "--steps", "1"])).code).toBe(0);

    const r = await cli(["events"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const out = r.stdout.trimEnd().split("\n");
    expect(out[0]).toMatch(/^TIME\s+ACTOR\s+HOST\s+COMMAND\s+ENVIRONMENT\s+OUTCOME\s+DETAILS$/);
    const row = (command: string, details: string) =>
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s+${TEST_ROLE}\\s+${hostname()}\\s+${command}\\s+-\\s+success\\s+${details}$`,
      );
    expect(out.slice(1, 4)).toEqual([
      expect.stringMatching(row("migrate down", "rolledBack: 003_c")),
      expect.stringMatching(row("migrate up", "applied: 001_a, 002_b, 003_c")),
      expect.stringMatching(row("init", "[^\\n]*")),
    ]);
    expect(out.slice(4)).toEqual(["", "3 event(s), newest first."]);

    const json = expectJson(await cli(["events", "--format", "json"]), 0, true);
    expect(json).toMatchObject({ table: `${s}.confiture_events`, tableExists: true, limit: 50, more: false });
    const events = json.events as Array<Record<string, unknown>>;
    expect(events.map((e) => e.command)).toEqual(["migrate down", "migrate up", "init"]);
    expect(events[0]).toMatchObject({
      actor: TEST_ROLE,
      host: hostname(),
      environment: null,
      outcome: "success",
      details: { rolledBack: ["003_c"], forced: false },
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });

    const limited = await cli(["events", "--limit", "1"]);
    expect(limited.code, limited.stderr).toBe(0);
    expect(limited.stdout.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^TIME/),
      expect.stringMatching(row("migrate down", "rolledBack: 003_c")),
      "",
      "The 1 most recent event(s), newest first; more with --limit N or --since T.",
    ]);
    const limitedJson = expectJson(await cli(["events", "--limit", "2", "--format", "json"]), 0, true);
    expect((limitedJson.events as unknown[]).length).toBe(2);
    expect(limitedJson.more).toBe(true);

    // The init happened three days ago: --since 2d and a date two days back leave it out.
    await suite.db.query(
      `update ${s}.confiture_events set at = now() - interval '3 days' where command = 'init'`,
    );
    const recent = expectJson(await cli(["events", "--since", "2d", "--format", "json"]), 0, true);
    expect((recent.events as Array<{ command: string }>).map((e) => e.command)).toEqual([
      "migrate down",
      "migrate up",
    ]);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 19);
    const byDate = await cli(["events", "--since", `${twoDaysAgo}Z`]);
    expect(byDate.code, byDate.stderr).toBe(0);
    expect(byDate.stdout).toContain(`2 event(s) since ${twoDaysAgo}Z, newest first.`);
    expect(byDate.stdout).not.toMatch(/\binit\b/);
    const week = expectJson(await cli(["events", "--since", "7d", "--format", "json"]), 0, true);
    expect((week.events as unknown[]).length).toBe(3);
    const future = await cli(["events", "--since", "2999-01-01"]);
    expect(future.code, future.stderr).toBe(0);
    expect(future.stdout).toBe(`No events since 2999-01-01T00:00:00Z in ${s}.confiture_events.\n`);

    // Bad input is a usage error naming the accepted forms.
    const badSince = await cli(["events", "--since", "yesterday"]);
    expect(badSince.code).toBe(2);
    expect(badSince.stdout).toBe("");
    expect(badSince.stderr).toMatch(/^error: --since must be an ISO 8601 date or time .* \(30m, 2h, 7d\)/);
    const badLimit = expectJson(await cli(["events", "--limit", "0", "--format", "json"]), 2, false);
    expect(badLimit.error?.message).toContain("--limit must be a whole number of at least 1");
  });

  it("a failure's error is summarized at a word boundary", async () => {
    const s = "out_ev_fail";
    const { cli } = await setup(s, {
      "001_a.up.sql": `create table ${s}.a (id int);\n`,
      "002_b.up.sql": `insert into ${s}.nope values (1);\n`,
    });
    expect((await cli(["migrate", "up"])).code).toBe(1);
    const r = await cli(["events"]);
    expect(r.code, r.stderr).toBe(0);
    const row = r.stdout.split("\n")[1]!;
    expect(row).toMatch(
      /\s+migrate up\s+-\s+failed\s+applied: 001_a; error: migration 002_b failed at line 1 .*…$/,
    );
  });
});
