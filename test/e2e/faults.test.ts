/**
 * Telling the truth under faults (issue 6): the built CLI runs through a TCP fault proxy
 * (test/support/fault-proxy.ts) that cuts connections, drops the server's reply or stalls, and
 * against hostile server settings and input. Each test checks the exit code, stdout and stderr,
 * and then the database itself (queried directly, never through the proxy): no claim the run
 * made may be contradicted by history or schema, and the migration lock must be free.
 *
 * One test per defect of the issue (3 and 4, redaction, are covered elsewhere). Randomized cuts
 * and immediate server restarts live in faults-random.test.ts.
 */
import { writeFile } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../support/cli.js";
import {
  createTestDatabase,
  SENTINEL_PASSWORD,
  TEST_ROLE,
  type TestDatabase,
  withClient,
} from "../support/database.js";
import { eventually, expectedChecksum, watchCli } from "../support/e2e.js";
import {
  expectClaimsTrue,
  expectLockFreed,
  expectOneErrorLine,
  historyRows,
  jsonError,
  type QueryFn,
  relationExists,
} from "../support/fault-claims.js";
import {
  afterAuthMessage,
  type ClientMessage,
  completeQuery,
  type Fault,
  type FaultProxy,
  queryContaining,
  startFaultProxy,
} from "../support/fault-proxy.js";
import { CONFITURE_LOCK_CLASSID, migrationLockSessions } from "../support/migration-lock.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const proxies: FaultProxy[] = [];
const projects: TestProject[] = [];
const extraDatabases: TestDatabase[] = [];

beforeAll(async () => {
  db = await createTestDatabase("faults");
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(projects.map((p) => p.cleanup()));
  for (const extra of extraDatabases) await extra.drop().catch(() => {});
  await db?.drop();
});

const query = (target: TestDatabase): QueryFn => target.query as QueryFn;

/** A project managing `schema` of the database its DATABASE_URL points at. */
async function project(
  schema: string,
  migrations: Record<string, string>,
  extraConfig = "",
): Promise<TestProject> {
  const p = await makeProject({
    config: `database_url: \${DATABASE_URL}\nschema: ${schema}\n${
      extraConfig.includes("lock_timeout:") ? "" : "lock_timeout: 10s\n"
    }${extraConfig}`,
    migrations,
  });
  projects.push(p);
  return p;
}

async function proxy(target: TestDatabase, faults?: Fault | Fault[]) {
  const p = await startFaultProxy(target.url, { faults });
  proxies.push(p);
  return p;
}

/** Run the CLI in `p` against `url`; never leaks the password. */
async function run(p: TestProject, args: string[], url: string, timeoutMs = 30_000): Promise<CliResult> {
  const r = await runCli(args, { cwd: p.dir, env: { DATABASE_URL: url }, timeoutMs });
  expect(r.stdout + r.stderr).not.toContain(SENTINEL_PASSWORD);
  return r;
}

const show = (r: CliResult, proxyUsed?: FaultProxy) =>
  `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}\nstdout: ${r.stdout}\nstderr: ${r.stderr}${
    proxyUsed ? `\nproxy: ${proxyUsed.describe()}` : ""
  }`;

/** The advisory key objid Confiture uses for `schema.table` (FNV-1a, 31 bits; see README "Locking"). */
function lockObjid(schema: string, table = "confiture_migrations"): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(`${schema}.${table}`, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

/** Hold the migration lock of `schema` from a session of our own; returns it (end() releases). */
async function holdLock(url: string, schema: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: url, application_name: "fault test lock holder" });
  client.on("error", () => {});
  await client.connect();
  await client.query("select pg_advisory_lock($1::int4, $2::int4)", [
    CONFITURE_LOCK_CLASSID,
    lockObjid(schema),
  ]);
  const pid = (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
  return { client, pid };
}

/**
 * After the lock query, the first query that reads or writes the tracking table, matched where
 * the server has the whole request (see completeQuery).
 */
function firstHistoryQueryAfterLock(): (m: ClientMessage) => boolean {
  let locked = false;
  const history = completeQuery("confiture_migrations");
  return (m) => {
    if (!locked) {
      if (/advisory_lock\s*\(/i.test(m.text ?? "")) locked = true;
      return false;
    }
    return history(m);
  };
}

/** The query that takes the migration lock (pg_advisory_lock or pg_try_advisory_lock), once the server has it whole. */
const lockQuery = () => completeQuery((sql) => /advisory_lock\s*\(/i.test(sql));

describe("defect 1: transaction control in a no-transaction migration", () => {
  it.each([
    ["begin", "begin;"],
    ["start_transaction", "start transaction;"],
    ["commit", "commit;"],
    ["rollback", "rollback;"],
  ])(
    "a no-transaction file containing %s is refused before anything runs (exit 2, file and line)",
    async (label, control) => {
      const schema = `d1_${label}`;
      const p = await project(schema, {
        "001_opens_tx.up.sql": [
          "-- confiture:no-transaction",
          `create table ${schema}.pre (id int);`,
          control,
          `create table ${schema}.inside (id int);`,
          `insert into ${schema}.inside values (1);`,
          "",
        ].join("\n"),
      });
      const px = await proxy(db);
      const text = await run(p, ["migrate", "up"], px.url);
      expect(text.code, show(text)).toBe(2);
      const line = expectOneErrorLine(text);
      expect(line).toContain("001_opens_tx.up.sql");
      expect(line).toMatch(/001_opens_tx\.up\.sql:3\b|line 3\b/);
      expect(text.stdout).not.toMatch(/^applied /m);

      const json = await run(p, ["migrate", "up", "--format", "json"], px.url);
      expect(json.code, show(json)).toBe(2);
      expect(jsonError(json).code).toBe("MIGRATION_TRANSACTION_CONTROL");

      // Nothing ran: neither table, and no history row (the tracking table may or may not exist).
      expect(await relationExists(query(db), schema, "pre")).toBe(false);
      expect(await relationExists(query(db), schema, "inside")).toBe(false);
      expect([...(await historyRows(query(db), schema)).keys()]).toEqual([]);
      await expectLockFreed(query(db));
    },
  );
});

describe("defect 2: the server's reply to a transactional migration is lost", () => {
  const files = (schema: string) => ({
    "001_t1.up.sql": `create table ${schema}.t1 (id int);\n`,
    "002_t2.up.sql": `create table ${schema}.t2 (id int);\ninsert into ${schema}.t2 select generate_series(1, 3);\n`,
    "003_t3.up.sql": `create table ${schema}.t3 (id int);\n`,
  });
  const ids = ["001_t1", "002_t2", "003_t3"];
  const tableOf = (id: string) => id.slice(4);

  /** The phrase must match the database: applied when the row exists, not applied / unknown otherwise. */
  async function expectOutcomeAgrees(message: string, schema: string, mustKnow: boolean): Promise<boolean> {
    const recorded = (await historyRows(query(db), schema)).get("002_t2")?.status === "applied";
    const tableExists = await relationExists(query(db), schema, "t2");
    expect({ recorded, tableExists }).toEqual({ recorded, tableExists: recorded });
    if (mustKnow) {
      expect(message).toContain(
        recorded ? "history shows it was applied" : "history shows it was not applied",
      );
    } else if (!message.includes("is unknown")) {
      expect(message).toContain(
        recorded ? "history shows it was applied" : "history shows it was not applied",
      );
    }
    expect(message).not.toMatch(/nothing from this migration was applied/i);
    return recorded;
  }

  it("text: exit 5, one line, and what it says about 002 agrees with its history row", async () => {
    const schema = "d2_text";
    const p = await project(schema, files(schema));
    const px = await proxy(db, {
      action: "drop-reply",
      at: { message: queryContaining(`create table ${schema}.t2`) },
    });
    const r = await run(p, ["migrate", "up"], px.url);
    expect(px.connections[0]?.fired, px.describe()).toBeDefined();
    expect(r.code, show(r, px)).toBe(5);
    const line = expectOneErrorLine(r);
    await expectOutcomeAgrees(line, schema, true);
    await expectClaimsTrue(r, ids, query(db), schema, tableOf);
    expect(await relationExists(query(db), schema, "t3")).toBe(false);
    await expectLockFreed(query(db));

    const again = await run(p, ["migrate", "up"], db.url);
    expect(again.code, show(again)).toBe(0);
    const rows = await historyRows(query(db), schema);
    expect(ids.map((id) => rows.get(id)?.status)).toEqual(["applied", "applied", "applied"]);
    const count = await db.query<{ n: number }>(`select count(*)::int as n from ${schema}.t2`);
    expect(count.rows[0]?.n).toBe(3);
  });

  it("json: CONNECTION_LOST, and the message agrees with history", async () => {
    const schema = "d2_json";
    const p = await project(schema, files(schema));
    const px = await proxy(db, {
      action: "drop-reply",
      at: { message: queryContaining(`create table ${schema}.t2`) },
    });
    const r = await run(p, ["migrate", "up", "--format", "json"], px.url);
    expect(r.code, show(r, px)).toBe(5);
    const error = jsonError(r);
    expect(error.code).toBe("CONNECTION_LOST");
    expect(error.exitCode).toBe(5);
    await expectOutcomeAgrees(error.message, schema, true);
    await expectLockFreed(query(db));
  });

  it("a migration still running on the server when the reply is lost: its session is ended before history is read", async () => {
    const schema = "d2_running";
    // 002 keeps running on the server after the client's connection is gone: it sleeps with the
    // server's own dead-client check off, then commits unless its backend is ended first.
    const p = await project(schema, {
      "001_t1.up.sql": `create table ${schema}.t1 (id int);\n`,
      "002_t2.up.sql": `set local client_connection_check_interval = 0;\nselect pg_sleep(2);\ncreate table ${schema}.t2 (id int);\n`,
    });
    const px = await proxy(db, {
      action: "drop-reply",
      closeAfterMs: 50,
      at: { message: queryContaining(`create table ${schema}.t2`) },
    });
    const r = await run(p, ["migrate", "up"], px.url);
    expect(r.code, show(r, px)).toBe(5);
    const line = expectOneErrorLine(r);
    // Give a backend that was left running time to finish: what was said must still hold.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const recorded = (await historyRows(query(db), schema)).get("002_t2")?.status === "applied";
    expect(await relationExists(query(db), schema, "t2")).toBe(recorded);
    expect(line).toContain(recorded ? "history shows it was applied" : "history shows it was not applied");
    await expectLockFreed(query(db));
  });

  it("text: when the tool cannot reconnect, the outcome is unknown (never a guess)", async () => {
    const schema = "d2_unknown";
    const p = await project(schema, files(schema));
    const px = await proxy(db, [
      { connection: 1, action: "drop-reply", at: { message: queryContaining(`create table ${schema}.t2`) } },
      // Every later connection (the one that would read history) is cut before the server sees it.
      { connection: (i) => i > 1, action: "cut", at: { afterBytes: 0, direction: "c2s" } },
    ]);
    const r = await run(p, ["migrate", "up"], px.url, 45_000);
    expect(r.code, show(r, px)).toBe(5);
    const line = expectOneErrorLine(r);
    expect(line).toContain("is unknown");
    expect(line).not.toMatch(/history shows it was (not )?applied/);
    await expectOutcomeAgrees(line, schema, false);
    await expectClaimsTrue(r, ids, query(db), schema, tableOf);
    await expectLockFreed(query(db));
  });
});

describe("defect 5: a stalled connection ends in bounded time (query_timeout)", () => {
  const files = (schema: string) => ({
    "001_t1.up.sql": `create table ${schema}.t1 (id int);\n`,
    "002_t2.up.sql": `create table ${schema}.t2 (id int);\n`,
  });

  it("stall right after authentication: exit 5 within 15 s, one line, lock free", async () => {
    const schema = "d5_auth";
    const p = await project(schema, files(schema), "query_timeout: 2s\n");
    const px = await proxy(db, { action: "stall", at: { message: afterAuthMessage(1) } });
    const started = performance.now();
    const r = await run(p, ["migrate", "up"], px.url, 20_000);
    const elapsed = performance.now() - started;
    expect(px.connections[0]?.fired, px.describe()).toBeDefined();
    expect(r.code, show(r, px)).toBe(5);
    expect(elapsed).toBeLessThan(15_000);
    expectOneErrorLine(r);
    await expectLockFreed(query(db), 10_000);
    expect([...(await historyRows(query(db), schema)).keys()]).toEqual([]);
  });

  it("stall after the history read while the lock is held: CONNECTION_LOST within 15 s, lock freed", async () => {
    const schema = "d5_history";
    const p = await project(schema, files(schema), "query_timeout: 2s\n");
    const px = await proxy(db, { action: "stall", at: { message: firstHistoryQueryAfterLock() } });
    const started = performance.now();
    const r = await run(p, ["migrate", "up", "--format", "json"], px.url, 20_000);
    const elapsed = performance.now() - started;
    expect(px.connections[0]?.fired, px.describe()).toBeDefined();
    expect(r.code, show(r, px)).toBe(5);
    expect(jsonError(r).code).toBe("CONNECTION_LOST");
    expect(elapsed).toBeLessThan(15_000);
    // The server session is gone (or idle without the lock) shortly after.
    await expectLockFreed(query(db), 10_000);
    expect(await relationExists(query(db), schema, "t1")).toBe(false);
  });
});

describe("defect 6: connection lost outside a migration's own message", () => {
  const files = (schema: string) => ({
    "001_t1.up.sql": `create table ${schema}.t1 (id int);\n`,
    "002_t2.up.sql": `create table ${schema}.t2 (id int);\n`,
  });

  it("cut while taking the lock: exit 5 CONNECTION_LOST, one line, nothing applied", async () => {
    const schema = "d6_lock";
    const p = await project(schema, files(schema));
    for (const format of ["text", "json"] as const) {
      const px = await proxy(db, { action: "cut", at: { message: lockQuery() } });
      const r = await run(p, ["migrate", "up", "--format", format], px.url);
      expect(px.connections[0]?.fired, px.describe()).toBeDefined();
      expect(r.code, show(r, px)).toBe(5);
      if (format === "text") expectOneErrorLine(r);
      else expect(jsonError(r).code).toBe("CONNECTION_LOST");
      await expectLockFreed(query(db));
    }
    expect([...(await historyRows(query(db), schema)).keys()]).toEqual([]);
    expect(await relationExists(query(db), schema, "t1")).toBe(false);
  });

  it("cut while reading history: exit 5 CONNECTION_LOST, one line, nothing more applied", async () => {
    const schema = "d6_history";
    const p = await project(schema, { "001_t1.up.sql": files(schema)["001_t1.up.sql"] });
    const first = await run(p, ["migrate", "up"], db.url);
    expect(first.code, show(first)).toBe(0);
    await p.write("db/migrations/002_t2.up.sql", files(schema)["002_t2.up.sql"]);
    for (const format of ["text", "json"] as const) {
      const px = await proxy(db, { action: "cut", at: { message: firstHistoryQueryAfterLock() } });
      const r = await run(p, ["migrate", "up", "--format", format], px.url);
      expect(px.connections[0]?.fired, px.describe()).toBeDefined();
      expect(r.code, show(r, px)).toBe(5);
      if (format === "text") {
        expectOneErrorLine(r);
        await expectClaimsTrue(r, ["001_t1", "002_t2"], query(db), schema, (id) => id.slice(4));
      } else expect(jsonError(r).code).toBe("CONNECTION_LOST");
      await expectLockFreed(query(db));
    }
    expect([...(await historyRows(query(db), schema)).keys()]).toEqual(["001_t1"]);
    expect(await relationExists(query(db), schema, "t2")).toBe(false);
  });

  it("cut between the statements of a no-transaction migration: exit 5, recorded as failed, resolve", async () => {
    const schema = "d6_notx";
    const p = await project(schema, {
      "001_t1.up.sql": `create table ${schema}.t1 (id int);\n`,
      "002_nt.up.sql": [
        "-- confiture:no-transaction",
        `create table ${schema}.nt (id int);`,
        `create index concurrently nt_idx on ${schema}.nt (id);`,
        `create table ${schema}.nt_more (id int);`,
        "",
      ].join("\n"),
    });
    // Statement 1 has run; statement 2 never reaches the server.
    const px = await proxy(db, {
      action: "cut",
      at: { message: queryContaining("create index concurrently nt_idx"), before: true },
    });
    const r = await run(p, ["migrate", "up"], px.url);
    expect(px.connections[0]?.fired, px.describe()).toBeDefined();
    expect(r.code, show(r, px)).toBe(5);
    const line = expectOneErrorLine(r);
    expect(line).toContain("recorded as failed");
    expect(line).toContain("migrate resolve");
    await expectClaimsTrue(r, ["001_t1", "002_nt"], query(db), schema, (id) => id.slice(4));
    const rows = await historyRows(query(db), schema);
    expect(rows.get("001_t1")?.status).toBe("applied");
    expect(rows.get("002_nt")?.status).toBe("failed");
    expect(await relationExists(query(db), schema, "nt")).toBe(true);
    expect(await relationExists(query(db), schema, "nt_idx")).toBe(false);
    await expectLockFreed(query(db));

    // Settle it the way the message says, then the run completes.
    const status = await run(p, ["migrate", "status"], db.url);
    expect(status.code, show(status)).toBe(3);
    await db.query(`drop table ${schema}.nt`);
    const resolved = await run(p, ["migrate", "resolve", "002_nt", "--rolled-back"], db.url);
    expect(resolved.code, show(resolved)).toBe(0);
    const again = await run(p, ["migrate", "up"], db.url);
    expect(again.code, show(again)).toBe(0);
    expect(await relationExists(query(db), schema, "nt_idx")).toBe(true);
    expect(await relationExists(query(db), schema, "nt_more")).toBe(true);
  });
});

describe("defect 7: a role-level statement_timeout does not break the lock wait", () => {
  it("exit 4 LOCK_TIMEOUT naming the holder's pid", async () => {
    const own = await createTestDatabase("faults d7");
    extraDatabases.push(own);
    const schema = "d7";
    const p = await project(
      schema,
      { "001_t1.up.sql": `create table ${schema}.t1 (id int);\n` },
      "lock_timeout: 4s\n",
    );
    // Create the tracking table first so the run reaches the lock wait on an ordinary history.
    const first = await run(p, ["migrate", "up"], own.url);
    expect(first.code, show(first)).toBe(0);
    await p.write("db/migrations/002_t2.up.sql", `create table ${schema}.t2 (id int);\n`);
    const role = `"${TEST_ROLE}"`;
    await withClient(own.adminUrl, (c) =>
      c.query(`alter role ${role} in database "${own.name}" set statement_timeout = '1s'`),
    );
    const holder = await holdLock(own.url, schema);
    try {
      const px = await proxy(own);
      const r = await run(p, ["migrate", "up", "--format", "json"], px.url);
      expect(r.code, show(r)).toBe(4);
      const error = jsonError(r);
      expect(error.code).toBe("LOCK_TIMEOUT");
      expect(error.message).toContain(String(holder.pid));
    } finally {
      await holder.client.end().catch(() => {});
      await withClient(own.adminUrl, (c) =>
        c.query(`alter role ${role} in database "${own.name}" reset statement_timeout`),
      );
    }
    expect(await relationExists(query(own), schema, "t2")).toBe(false);
  });
});

describe("defect 8: the recorded checksum is of what ran", () => {
  it("a file edited while up waits for the lock: the edited SQL runs and its checksum is recorded", async () => {
    const schema = "d8";
    const original = `create table ${schema}.t_original (id int);\n`;
    const edited = `create table ${schema}.t_edited (id int);\n`;
    const p = await project(schema, { "001_t.up.sql": original });
    const holder = await holdLock(db.url, schema);
    const px = await proxy(db);
    let up: ReturnType<typeof watchCli> | undefined;
    try {
      up = watchCli(["migrate", "up"], { cwd: p.dir, env: { DATABASE_URL: px.url } });
      await eventually(
        async () => ((await migrationLockSessions(db)).some((s) => !s.granted) ? true : undefined),
        "migrate up to wait for the lock",
      );
      await writeFile(p.path("db/migrations/001_t.up.sql"), edited);
    } finally {
      await holder.client.end();
    }
    const r = await up!.done;
    expect(r.code, show(r)).toBe(0);

    const checksum = await run(p, ["migrate", "checksum", p.path("db/migrations/001_t.up.sql")], db.url);
    expect(checksum.code, show(checksum)).toBe(0);
    expect(checksum.stdout.trim()).toBe(expectedChecksum(edited));
    const recorded = await db.query<{ checksum: string }>(
      `select checksum from ${schema}.confiture_migrations where version = '001_t'`,
    );
    expect(recorded.rows[0]?.checksum).toBe(checksum.stdout.trim());
    expect(await relationExists(query(db), schema, "t_edited")).toBe(true);
    expect(await relationExists(query(db), schema, "t_original")).toBe(false);
    const status = await run(p, ["migrate", "status"], db.url);
    expect(status.code, show(status)).toBe(0);
  });
});

describe("defect 9: a read-only server", () => {
  it("exit 5 SERVER_READ_ONLY, says to connect to the primary, creates nothing", async () => {
    const own = await createTestDatabase("faults d9");
    extraDatabases.push(own);
    const schema = "d9";
    const p = await project(schema, { "001_t1.up.sql": `create table ${schema}.t1 (id int);\n` });
    await withClient(own.adminUrl, (c) =>
      c.query(`alter database "${own.name}" set default_transaction_read_only = on`),
    );
    try {
      const px = await proxy(own);
      const text = await run(p, ["migrate", "up"], px.url);
      expect(text.code, show(text)).toBe(5);
      expect(expectOneErrorLine(text)).toContain("primary");
      const json = await run(p, ["migrate", "up", "--format", "json"], px.url);
      expect(json.code, show(json)).toBe(5);
      const error = jsonError(json);
      expect(error.code).toBe("SERVER_READ_ONLY");
      expect(error.message).toContain("primary");
    } finally {
      await withClient(own.adminUrl, (c) =>
        c.query(`alter database "${own.name}" reset default_transaction_read_only`),
      );
    }
    expect(await relationExists(query(own), schema, "confiture_migrations")).toBe(false);
    expect(await relationExists(query(own), schema, "t1")).toBe(false);
  });
});

describe("defect 10: messages over several lines", () => {
  it("a server message with a newline is one stderr line in text, and the real text in JSON", async () => {
    const schema = "d10";
    const p = await project(schema, {
      "001_raise.up.sql": "do $$ begin raise exception E'first\\nsecond'; end $$;\n",
    });
    const px = await proxy(db);
    const text = await run(p, ["migrate", "up"], px.url);
    expect(text.code, show(text)).toBe(1);
    const line = expectOneErrorLine(text);
    expect(line).toMatch(/first.*second/);
    const json = await run(p, ["migrate", "up", "--format", "json"], px.url);
    expect(json.code, show(json)).toBe(1);
    const error = jsonError(json);
    expect(error.code).toBe("MIGRATION_FAILED");
    expect(error.message).toContain("first\nsecond");
    expect([...(await historyRows(query(db), schema)).keys()]).toEqual([]);
  });
});
