/**
 * `confiture incident new` and `confiture incident log` (SPEC section 9), and the record
 * `migrate status --verbose > incident_report.txt` makes (runbook scenario 3): the runbook's
 * template prefilled, evidence from a real database (or said to be missing when the server is
 * down), numbering per day, the timeline row in its table, and no password anywhere.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrationLockKey } from "../../src/db/advisory-lock.js";
import { closedPort, expectJson, fileDatabase } from "../support/e2e.js";
import { SENTINEL_PASSWORD, TEST_ROLE } from "../support/provided-context.js";

const suite = fileDatabase("incident");

/** Today's UTC day as the ids (`20261125`) and the Date line (`2026-11-25`) write it. */
function today(): { compact: string; iso: string } {
  const iso = new Date().toISOString().slice(0, 10);
  return { compact: iso.replace(/-/g, ""), iso };
}

/** The lines of the report's Timeline table (header and separator included). */
function timelineTable(report: string): string[] {
  const lines = report.split("\n");
  const start = lines.indexOf("## Timeline (UTC)") + 2;
  let end = start;
  while (lines[end]?.startsWith("|")) end++;
  expect(lines[end + 1]).toBe("## Root Cause");
  return lines.slice(start, end);
}

/** The body of one `### name` evidence section. */
function evidence(report: string, name: string): string {
  const from = report.indexOf(`\n### ${name}\n`);
  expect(from, `section ${name}`).toBeGreaterThan(report.indexOf("## Evidence (collected by confiture at "));
  const rest = report.slice(from + name.length + 6);
  const next = rest.indexOf("\n### ");
  return (next < 0 ? rest : rest.slice(0, next)).trim();
}

const SECTIONS = [
  "## Summary",
  "## Impact",
  "## Timeline (UTC)",
  "## Root Cause",
  "## Resolution",
  "## Prevention",
  "### Immediate Actions",
  "### Long-term Improvements",
  "## Lessons Learned",
  "## References",
  "**Prepared by:** [Name]",
  "**Reviewed by:** [Name]",
  "**Approved by:** [Name]",
];

describe("confiture incident new", () => {
  it("writes incidents/INC-<today>-001.md in the runbook's template with the evidence; the next one is -002", async () => {
    const s = "inc_new";
    await suite.db.query(`create schema ${s}`);
    const { p, cli } = await suite.project(s, {
      "001_a.up.sql": `create table ${s}.a (id int);\n`,
      "001_a.down.sql": `drop table ${s}.a;\n`,
      "002_b.up.sql": `create table ${s}.b (id int);\n`,
      "002_b.down.sql": `drop table ${s}.b;\n`,
    });
    // Four events, in an order that reads differently backwards: up, down, up (both), down.
    for (const args of [
      ["up", "--target", "001_a"],
      ["down", "--steps", "1"],
      ["up"],
      ["down", "--steps", "1"],
    ])
      expect((await cli(["migrate", ...args])).code).toBe(0);

    const r = await cli(["incident", "new", "--title", "Orders page down", "--severity", "p2"]);
    expect(r.code, r.stderr).toBe(0);
    const { compact, iso } = today();
    const id = `INC-${compact}-001`;
    expect(r.stdout).toBe(`incidents/${id}.md\n`);
    expect(r.stderr).toBe("");
    const report = await readFile(p.path(`incidents/${id}.md`), "utf8");

    expect(report.split("\n").slice(0, 8)).toEqual([
      "# Incident Report: Orders page down",
      "",
      `**Incident ID:** ${id}`,
      `**Date:** ${iso}`,
      "**Duration:** [X hours Y minutes]",
      "**Severity:** P2",
      "**Status:** Ongoing",
      expect.stringMatching(
        new RegExp(
          `^\\*\\*Environment:\\*\\* default; database postgres://${TEST_ROLE}:\\*\\*\\*@[^ ]+/${suite.db.name} \\(from DATABASE_URL\\)$`,
        ),
      ),
    ]);
    let at = 0;
    for (const heading of SECTIONS) {
      const found = report.indexOf(`\n${heading}\n`, at);
      expect(found, heading).toBeGreaterThan(at);
      at = found;
    }
    expect(report).toContain("[1-2 sentence description of what happened]");

    // The timeline starts with the events table's rows, oldest first, then the opening.
    const timeline = timelineTable(report);
    expect(timeline.slice(0, 2)).toEqual(["| Time | Event |", "|------|-------|"]);
    const events = timeline.slice(2, -1);
    for (const line of timeline.slice(2)) expect(line).toMatch(/^\| \d\d:\d\d \| [^|]+ \|$/);
    expect(events.map((line) => line.replace(/^\| \d\d:\d\d \| /, ""))).toEqual(
      ["up", "down", "up", "down"].map(
        (c) => `confiture migrate ${c} by ${TEST_ROLE} on ${hostname()}: success |`,
      ),
    );
    expect(timeline.at(-1)).toMatch(/^\| \d\d:\d\d \| Incident opened \(confiture incident new\) \|$/);

    // Evidence: each section collected from the database.
    expect(report).toMatch(/\n## Evidence \(collected by confiture at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n/);
    expect(evidence(report, "Database")).toMatch(
      new RegExp(`^PostgreSQL \\d+\\.\\S*.*, database ${suite.db.name}\\.$`),
    );
    const status = evidence(report, "Migration status");
    expect(status).toContain(
      `Tracking table ${s}.confiture_migrations in database ${suite.db.name}: 1 applied, 1 pending.`,
    );
    expect(status).toMatch(new RegExp(`^\\| 001_a \\| applied \\| ${iso}T[^|]+ \\| ${TEST_ROLE}@`, "m"));
    expect(status).toMatch(/^\| 002_b \| pending \| - \| - \| - \|$/m);
    expect(status).toContain("Problems: none");
    expect(evidence(report, "Lock holder")).toBe(`The migration lock (${s}.confiture_migrations) is free.`);
    expect(evidence(report, "Health")).toMatch(
      /^Worst: (OK|WARN|CRIT) \(\d+ check\(s\) in \d+ ms\)\.\n\n\| Check \| Level \| Summary \|/,
    );
    expect(evidence(report, "Health")).toMatch(/^\| pending migrations \| WARN \| /m);
    expect(evidence(report, "Drift")).toMatch(/^No drift: the live schema matches the expected schema/);
    const eventRows = evidence(report, "Recent events")
      .split("\n")
      .filter((l) => l.startsWith(`| ${iso}T`));
    expect(eventRows.map((l) => l.split(" | ").slice(1, 3))).toEqual([
      ["migrate up", TEST_ROLE],
      ["migrate down", TEST_ROLE],
      ["migrate up", TEST_ROLE],
      ["migrate down", TEST_ROLE],
    ]);
    expect(report).not.toContain("not available");

    // The same day: the next number; JSON names it and says what was collected.
    const doc = expectJson(
      await cli([
        "incident",
        "new",
        "--title",
        "second",
        "--severity",
        "P4",
        "--no-drift",
        "--format",
        "json",
      ]),
      0,
      true,
    );
    expect(doc).toMatchObject({
      command: "incident new",
      id: `INC-${compact}-002`,
      path: p.path(`incidents/INC-${compact}-002.md`),
      severity: "P4",
      evidence: {
        database: { status: "collected", name: suite.db.name },
        migrations: { status: "collected", counts: { applied: 1, pending: 1 }, problems: false },
        lock: { status: "collected", held: false },
        events: { status: "collected", count: 4 },
        health: { status: "collected" },
        drift: { status: "not collected", reason: "skipped (--no-drift)" },
      },
    });
    const second = await readFile(p.path(`incidents/INC-${compact}-002.md`), "utf8");
    expect(second).toContain("**Severity:** P4");
    expect(evidence(second, "Drift")).toBe("not collected: skipped (--no-drift)");
    expect((await readdir(p.path("incidents"))).sort()).toEqual([`${id}.md`, `INC-${compact}-002.md`]);
  });

  it("shows the lock holder and the drift found", async () => {
    const s = "inc_drift";
    await suite.db.query(`create schema ${s}`);
    const { p, cli } = await suite.project(s, { "001_a.up.sql": `create table ${s}.a (id int);\n` });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    await suite.db.query(`alter table ${s}.a add column note text`);
    const holder = new pg.Client({ connectionString: suite.db.url, application_name: "batch job" });
    await holder.connect();
    try {
      const key = migrationLockKey(s, "confiture_migrations");
      await holder.query("select pg_advisory_lock($1::int4, $2::int4)", [key.classid, key.objid]);
      const r = await cli(["incident", "new", "--title", "drifted", "--severity", "P2"]);
      expect(r.code, r.stderr).toBe(0);
      const report = await readFile(p.path(r.stdout.trim()), "utf8");
      const lock = evidence(report, "Lock holder").split("\n");
      expect(lock[0]).toBe(`The migration lock (${s}.confiture_migrations) is held by:`);
      expect(lock).toContain(`- pid: ${(holder as unknown as { processID: number }).processID}`);
      expect(lock).toContain("- application: batch job");
      const drift = evidence(report, "Drift");
      expect(drift).toMatch(/^1 difference\(s\) from the expected schema, built from .*: 1 extra\.$/m);
      expect(drift).toMatch(/^\| column a\.note \| extra \| - \| - \| text/m);
    } finally {
      await holder.end();
    }
  });

  it("opened by several people at once: each gets its own number, none overwritten", async () => {
    const { p, cli } = await suite.project("inc_race");
    const offline = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
    const runs = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) =>
        cli(["incident", "new", "--title", `race ${n}`, "--severity", "P2"], offline),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const { compact } = today();
    const names = (await readdir(p.path("incidents"))).sort();
    expect(names).toEqual([1, 2, 3, 4, 5, 6].map((n) => `INC-${compact}-00${n}.md`));
    const titles = new Set<string>();
    for (const name of names) {
      const report = await readFile(p.path(`incidents/${name}`), "utf8");
      expect(report).toContain(`**Incident ID:** ${name.slice(0, -3)}\n`);
      titles.add(report.split("\n")[0]!);
    }
    expect(titles.size).toBe(6);
    expect(runs.map((r) => r.stdout.trim()).sort()).toEqual(names.map((n) => `incidents/${n}`));
  });

  it("refuses a severity other than P1..P4 (exit 2, one line naming them) and an empty title; writes nothing", async () => {
    const { p, cli } = await suite.project("inc_bad");
    for (const [args, says] of [
      [["--title", "x", "--severity", "P5"], 'error: --severity must be one of P1, P2, P3, P4 (got "P5")'],
      [["--title", "x", "--severity", "critical"], "error: --severity must be one of P1, P2, P3, P4"],
      [["--title", " \n ", "--severity", "P1"], "error: --title must not be empty"],
      [["--title", "x"], "error: required option '--severity <level>' not specified"],
    ] as const) {
      const r = await cli(["incident", "new", ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(says);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    }
    await expect(readdir(p.path("incidents"))).rejects.toThrow(/ENOENT/);
  });

  it("with the server down: the report is still written, the evidence says not available, no password anywhere", async () => {
    const { p, cli } = await suite.project("inc_down");
    const port = await closedPort();
    const url = `postgres://${TEST_ROLE}:${encodeURIComponent(SENTINEL_PASSWORD)}@127.0.0.1:${port}/appdb`;
    const started = Date.now();
    const r = await cli(["incident", "new", "--title", "database unreachable", "--severity", "P1"], {
      DATABASE_URL: url,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code, r.stderr).toBe(0);
    const { compact } = today();
    expect(r.stdout).toBe(`incidents/INC-${compact}-001.md\n`);
    expect(r.stderr).toMatch(
      /^warning: evidence not available: database, migration status, lock holder, health, drift, recent events \(cannot connect to postgres:\/\/confiture_test:\*\*\*@127\.0\.0\.1:\d+\/appdb: connection refused/,
    );
    const report = await readFile(p.path(`incidents/INC-${compact}-001.md`), "utf8");
    expect(report).not.toContain(SENTINEL_PASSWORD);
    expect(report).toContain(
      `**Environment:** default; database postgres://${TEST_ROLE}:***@127.0.0.1:${port}/appdb (from DATABASE_URL)`,
    );
    for (const name of ["Database", "Migration status", "Lock holder", "Health", "Drift", "Recent events"]) {
      expect(evidence(report, name)).toMatch(
        new RegExp(
          `^not available: cannot connect to postgres://${TEST_ROLE}:\\*\\*\\*@127\\.0\\.0\\.1:${port}/appdb: connection refused`,
        ),
      );
    }
    expect(timelineTable(report).slice(2)).toEqual([expect.stringMatching(/Incident opened/)]);

    const doc = expectJson(
      await cli(["incident", "new", "--title", "again", "--severity", "P1", "--format", "json"], {
        DATABASE_URL: url,
      }),
      0,
      true,
    );
    expect(JSON.stringify(doc)).not.toContain(SENTINEL_PASSWORD);
    expect(doc.evidence).toMatchObject({
      migrations: { status: "not available" },
      drift: { status: "not available" },
    });

    // No URL at all: the same, with the reason.
    const none = await cli(["incident", "new", "--title", "no url", "--severity", "P3", "--no-drift"], {
      DATABASE_URL: undefined,
    });
    expect(none.code, none.stderr).toBe(0);
    const third = await readFile(p.path(`incidents/INC-${compact}-003.md`), "utf8");
    expect(third).toContain("**Environment:** default; database none configured");
    expect(evidence(third, "Migration status")).toMatch(/^not available: no database URL configured/);
    expect(evidence(third, "Drift")).toBe("not collected: skipped (--no-drift)");
  });

  it("writes a title with a pipe, a newline and a password-looking URL as one safe line; --out never overwrites", async () => {
    const { p, cli } = await suite.project("inc_title");
    const title = "checkout | payments\nfailing postgres://ops:hunter2secret@db.internal/prod";
    const r = await cli([
      "incident",
      "new",
      "--title",
      title,
      "--severity",
      "P1",
      "--no-drift",
      "--out",
      "report.md",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("report.md\n");
    const report = await readFile(p.path("report.md"), "utf8");
    expect(report.split("\n")[0]).toBe(
      "# Incident Report: checkout | payments failing postgres://ops:***@db.internal/prod",
    );
    expect(report).not.toContain("hunter2secret");
    expect(report).toMatch(/\*\*Incident ID:\*\* INC-\d{8}-001\n/);

    // The configured URL's password, typed bare into a title or a message, is hidden too.
    const bare = await cli([
      "incident",
      "new",
      "--title",
      `pw is ${SENTINEL_PASSWORD}`,
      "--severity",
      "P3",
      "--no-drift",
      "--out",
      "bare.md",
    ]);
    expect(bare.code, bare.stderr).toBe(0);
    const bareReport = await readFile(p.path("bare.md"), "utf8");
    expect(bareReport.split("\n")[0]).toBe("# Incident Report: pw is ***");
    const bareLog = await cli([
      "incident",
      "log",
      `again ${SENTINEL_PASSWORD}`,
      "--incident",
      p.path("bare.md"),
    ]);
    expect(bareLog.code, bareLog.stderr).toBe(0);
    expect(await readFile(p.path("bare.md"), "utf8")).not.toContain(SENTINEL_PASSWORD);

    // The message lands in the timeline table: its pipe escaped, its lines joined, its password hidden.
    const log = await cli([
      "incident",
      "log",
      "paged db | team\nsee postgres://ops:hunter2secret@db/prod",
      "--incident",
      "report.md",
    ]);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout + log.stderr).not.toContain("hunter2secret");
    const logged = await readFile(p.path("report.md"), "utf8");
    expect(timelineTable(logged).at(-1)).toMatch(
      /^\| \d\d:\d\d \| paged db \\\| team see postgres:\/\/ops:\*\*\*@db\/prod \|$/,
    );
    expect(logged).not.toContain("hunter2secret");

    const again = await cli([
      "incident",
      "new",
      "--title",
      "x",
      "--severity",
      "P1",
      "--no-drift",
      "--out",
      "report.md",
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /^error: \S+report\.md already exists; incident new never overwrites a file: choose another --out\n$/,
    );
    expect(await readFile(p.path("report.md"), "utf8")).toBe(logged);
  });
});

describe("confiture incident log", () => {
  it("appends the row at the end of the Timeline table of the newest ongoing incident, without a database", async () => {
    const { p, cli } = await suite.project("inc_log");
    const offline = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" };
    for (const title of ["older", "newer"]) {
      const r = await cli(["incident", "new", "--title", title, "--severity", "P3", "--no-drift"], offline);
      expect(r.code, r.stderr).toBe(0);
    }
    const { compact } = today();
    const older = p.path(`incidents/INC-${compact}-001.md`);
    const newer = p.path(`incidents/INC-${compact}-002.md`);
    // The newer one is resolved: the log goes to the newest that is still ongoing.
    await writeFile(
      newer,
      (await readFile(newer, "utf8")).replace("**Status:** Ongoing", "**Status:** Resolved"),
    );
    const before = await readFile(older, "utf8");

    const r = await cli(["incident", "log", "rolled back 004; error rate back to normal"], offline);
    expect(r.code, r.stderr).toBe(0);
    const row = r.stdout.split("\n")[1]!;
    expect(r.stdout).toBe(`incidents/INC-${compact}-001.md: added to the timeline\n${row}\n`);
    expect(row).toMatch(/^\| \d\d:\d\d \| rolled back 004; error rate back to normal \|$/);
    const after = await readFile(older, "utf8");
    const timeline = timelineTable(after);
    expect(timeline.at(-2)).toMatch(/Incident opened/);
    expect(timeline.at(-1)).toBe(row);
    expect(after.replace(`${row}\n`, "")).toBe(before);

    const doc = expectJson(
      await cli(["incident", "log", "second note", "--format", "json"], offline),
      0,
      true,
    );
    expect(doc).toMatchObject({ command: "incident log", id: `INC-${compact}-001`, path: older });
    expect(timelineTable(await readFile(older, "utf8")).at(-1)).toMatch(/^\| \d\d:\d\d \| second note \|$/);

    // Named: the resolved one takes a late note too.
    const named = await cli(["incident", "log", "closed", "--incident", `inc-${compact}-002`], offline);
    expect(named.code, named.stderr).toBe(0);
    expect(timelineTable(await readFile(newer, "utf8")).at(-1)).toMatch(/^\| \d\d:\d\d \| closed \|$/);
  });

  it("with no ongoing incident: exit 2 naming confiture incident new", async () => {
    const { p, cli } = await suite.project("inc_none");
    const r = await cli(["incident", "log", "hello"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^error: no ongoing incident in incidents\/ \(.+\): open one with "confiture incident new --title T --severity P1\.\.P4"/,
    );
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    const doc = expectJson(await cli(["incident", "log", "hello", "--format", "json"]), 2, false);
    expect(doc.error?.code).toBe("INCIDENT_NOT_FOUND");
    const missing = await cli(["incident", "log", "hello", "--incident", "INC-20200101-001"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no incident report INC-20200101-001");
    await expect(readdir(p.path("incidents"))).rejects.toThrow(/ENOENT/);
  });
});

describe("migrate status --verbose as a record", () => {
  it("starts with the time (UTC), the version, environment and database; no color codes when redirected", async () => {
    const s = "inc_status";
    await suite.db.query(`create schema ${s}`);
    const { cli } = await suite.project(s, { "001_a.up.sql": `create table ${s}.a (id int);\n` });
    expect((await cli(["migrate", "up"])).code).toBe(0);
    // NO_COLOR unset: only the missing TTY turns color off.
    const r = await cli(["migrate", "status", "--verbose"], { NO_COLOR: undefined, CI: undefined });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("\u001b");
    const version = JSON.parse(
      await readFile(new URL("../../package.json", import.meta.url), "utf8"),
    ).version;
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(
      new RegExp(
        `^Migration status report at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC by Confiture ${version.replace(/\./g, "\\.")}$`,
      ),
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^Environment default; database postgres://${TEST_ROLE}:\\*\\*\\*@\\S+/${suite.db.name} \\(from DATABASE_URL\\)$`,
      ),
    );
    expect(lines[2]).toBe("");
    expect(lines[3]).toBe(`Database ${suite.db.name}, tracking table ${s}.confiture_migrations`);
    expect(r.stdout).toMatch(/^Server: PostgreSQL \d+/m);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("Lock: free");
    // Without --verbose, the output is as before.
    expect((await cli(["migrate", "status"])).stdout.split("\n")[0]).toBe(
      `Database ${suite.db.name}, tracking table ${s}.confiture_migrations`,
    );
  });
});
