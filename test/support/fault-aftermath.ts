/**
 * The aftermath of a fault during `migrate up`, shared by the randomized fault tests
 * (faults-random, faults-restart): exit code, one stderr line, claims against the database,
 * history and schema agreeing, the lock free, `migrate status` matching history, settling a
 * failed no-transaction migration, and a second run that applies the rest exactly once.
 *
 * Convention: migration `NNN_x` creates table `x`.
 */
import pg from "pg";
import { expect } from "vitest";
import { type CliResult, runCli } from "./cli.js";
import {
  expectClaimsTrue,
  expectLockFreed,
  expectOneErrorLine,
  historyRows,
  type QueryFn,
  relationExists,
} from "./fault-claims.js";
import type { TestProject } from "./project.js";
import { SENTINEL_PASSWORD } from "./provided-context.js";

/** Every migration `NNN_x` creates table `x`. */
export const tableOf = (id: string) => id.slice(4);

/** mulberry32: small and fast; same seed, same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * One long-lived connection for the checks (connecting per query costs a SCRAM exchange each
 * time); it reconnects when its session died (e.g. across a server restart).
 */
export function directQuery(url: string): { query: QueryFn; close(): Promise<void> } {
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  const get = async () => {
    if (client) return client;
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: url });
      c.on("error", () => {
        if (client === c) client = undefined;
      });
      c.on("end", () => {
        if (client === c) client = undefined;
      });
      await c.connect();
      client = c;
      connecting = undefined;
      return c;
    })().catch((err) => {
      connecting = undefined;
      throw err;
    });
    return connecting;
  };
  return {
    query: async (sql, params) => (await get()).query(sql, params),
    async close() {
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}

/** Run the CLI in project `p` against `url`; checks the password never shows. */
export async function runIn(
  p: TestProject,
  args: string[],
  url: string,
  timeoutMs = 30_000,
): Promise<CliResult> {
  const r = await runCli(args, { cwd: p.dir, env: { DATABASE_URL: url }, timeoutMs });
  expect(r.stdout + r.stderr).not.toContain(SENTINEL_PASSWORD);
  return r;
}

export const show = (r: CliResult, extra = "") =>
  `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}\nstdout: ${r.stdout}\nstderr: ${r.stderr}${extra ? `\n${extra}` : ""}`;

/**
 * History and schema agree: a transactional migration is recorded exactly when its table exists
 * (with exactly `rowCounts[table]` rows where given); the no-transaction one is absent (and so is its table), applied (table
 * there) or failed. Returns the history rows.
 */
export async function expectConsistent(
  query: QueryFn,
  schema: string,
  ids: readonly string[],
  opts: { noTx?: string | undefined; rowCounts?: Record<string, number> | undefined } = {},
) {
  const { noTx, rowCounts = {} } = opts;
  const rows = await historyRows(query, schema);
  const context = `history: ${JSON.stringify([...rows])}`;
  for (const id of ids) {
    const row = rows.get(id);
    const exists = await relationExists(query, schema, tableOf(id));
    if (id === noTx) {
      if (row === undefined) expect({ id, exists }, context).toEqual({ id, exists: false });
      else if (row.status === "applied") expect({ id, exists }, context).toEqual({ id, exists: true });
      else expect({ id, status: row.status }, context).toEqual({ id, status: "failed" });
      continue;
    }
    expect({ id, status: row?.status ?? "none" }, context).toEqual({ id, status: row ? "applied" : "none" });
    expect({ id, exists }, context).toEqual({ id, exists: row !== undefined });
    const expectedRows = rowCounts[tableOf(id)];
    if (row && expectedRows !== undefined) {
      const n = await query(`select count(*)::int as n from "${schema}".${tableOf(id)}`);
      expect({ table: tableOf(id), rows: n.rows[0]?.n }, context).toEqual({
        table: tableOf(id),
        rows: expectedRows,
      });
    }
  }
  return rows;
}

/** `migrate status --format json` (direct connection) reports exactly what history holds. */
export async function expectStatusMatches(
  p: TestProject,
  url: string,
  rows: Map<string, { status: string }>,
  ids: readonly string[],
) {
  const status = await runIn(p, ["migrate", "status", "--format", "json"], url);
  const anyFailed = [...rows.values()].some((r) => r.status === "failed");
  expect(status.code, show(status)).toBe(anyFailed ? 3 : 0);
  const doc = JSON.parse(status.stdout) as { migrations: { id: string; state: string }[] };
  const states = Object.fromEntries(doc.migrations.map((m) => [m.id, m.state]));
  expect(states).toEqual(Object.fromEntries(ids.map((id) => [id, rows.get(id)?.status ?? "pending"])));
}

/** The common aftermath of a fault: exit code, one line, claims, lock, status, settle, second run. */
export async function checkAftermath(opts: {
  result: CliResult;
  p: TestProject;
  schema: string;
  directUrl: string;
  query: QueryFn;
  ids: readonly string[];
  /** The no-transaction migration, if any (settled with resolve --rolled-back when failed). */
  noTx?: string;
  /** Exact row counts of tables whose migration inserts rows. */
  rowCounts?: Record<string, number>;
  /** Said in failure messages (seed, plan, proxy state). */
  extra?: string;
}): Promise<string> {
  const { result: r, p, schema, directUrl, query, ids, noTx, rowCounts } = opts;
  expect([0, 1, 5], show(r, opts.extra)).toContain(r.code);
  if (r.code === 0) expect(r.stderr, show(r, opts.extra)).toBe("");
  else expectOneErrorLine(r);
  const lockMs = await expectLockFreed(query, 15_000);
  const claims = await expectClaimsTrue(r, ids, query, schema, tableOf);
  let rows = await expectConsistent(query, schema, ids, { noTx, rowCounts });
  if (r.code === 0) {
    // 0 only when the cut came after the work was done.
    expect(
      ids.map((id) => rows.get(id)?.status),
      show(r, opts.extra),
    ).toEqual(ids.map(() => "applied"));
  }
  await expectStatusMatches(p, directUrl, rows, ids);

  let settled = "";
  if (noTx && rows.get(noTx)?.status === "failed") {
    await query(`drop table if exists "${schema}".${tableOf(noTx)}`);
    const resolved = await runIn(p, ["migrate", "resolve", noTx, "--rolled-back"], directUrl);
    expect(resolved.code, show(resolved)).toBe(0);
    settled = `, ${noTx} failed -> resolved`;
    rows = await historyRows(query, schema);
  }
  const again = await runIn(p, ["migrate", "up", "--format", "json"], directUrl);
  expect(again.stderr, show(again)).toBe("");
  expect(again.code, show(again)).toBe(0);
  const doc = JSON.parse(again.stdout) as { applied: { id: string }[] };
  expect(doc.applied.map((a) => a.id)).toEqual(ids.filter((id) => rows.get(id)?.status !== "applied"));
  const final = await expectConsistent(query, schema, ids, { noTx, rowCounts });
  expect(ids.map((id) => final.get(id)?.status)).toEqual(ids.map(() => "applied"));
  for (const id of ids) expect(await relationExists(query, schema, tableOf(id))).toBe(true);
  await expectLockFreed(query, 15_000);
  const code = r.code === 0 ? "exit 0" : `exit ${r.code}`;
  return `${code}, lock free after ${lockMs} ms, ${claims}${settled}`;
}
