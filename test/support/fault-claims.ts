/**
 * Checking what a CLI run said after a fault against what the database shows: the claims a
 * `migrate up` makes on stdout and stderr, the history rows and tables, and the migration lock.
 * Shared by the fault-injection tests (test/e2e/faults*.test.ts).
 */
import { expect } from "vitest";
import type { CliResult } from "./cli.js";
import { CONFITURE_LOCK_CLASSID } from "./migration-lock.js";

/** Runs one statement somewhere (a TestDatabase's `query`, or a client on another cluster). */
export type QueryFn = (sql: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/** What a run claimed about each migration. */
export interface Claims {
  /** `applied <id>` on stdout, `Applied earlier in this run and kept: ...`, `<id> ... history shows it was applied`. */
  applied: Set<string>;
  /** `<id> ... history shows it was not applied`, `<id> ... Nothing from this migration was applied`. */
  notApplied: Set<string>;
  /** `<id> ... recorded as failed`. */
  failed: Set<string>;
}

/** The known id mentioned last before `index` in `text` (the migration a phrase is about). */
function idBefore(text: string, index: number, ids: readonly string[]): string | undefined {
  const before = text.slice(0, index);
  let best: { id: string; at: number } | undefined;
  for (const id of ids) {
    let at = before.lastIndexOf(id);
    // "001_t1" must not match inside "001_t10".
    while (at >= 0 && /[0-9A-Za-z_]/.test(before[at + id.length] ?? "")) {
      at = at > 0 ? before.lastIndexOf(id, at - 1) : -1;
    }
    if (at >= 0 && (!best || at > best.at)) best = { id, at };
  }
  return best?.id;
}

/** Every place `phrase` occurs in `text` (case-insensitive). */
function occurrences(text: string, phrase: string): number[] {
  const out: number[] = [];
  const lower = text.toLowerCase();
  const needle = phrase.toLowerCase();
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, i + 1)) out.push(i);
  return out;
}

/** Read the claims a text-mode `migrate up` made about the migrations `ids`. */
export function parseClaims(r: Pick<CliResult, "stdout" | "stderr">, ids: readonly string[]): Claims {
  const claims: Claims = { applied: new Set(), notApplied: new Set(), failed: new Set() };
  for (const line of r.stdout.split("\n")) {
    const m = /^applied (\S+)/.exec(line);
    if (m?.[1]) claims.applied.add(m[1]);
  }
  const text = `${r.stderr}\n${r.stdout}`;
  const kept = /Applied earlier in this run and kept: ([^\n]*?)\.(?:\s|$)/.exec(text);
  if (kept?.[1]) {
    for (const id of kept[1].split(",")) if (id.trim()) claims.applied.add(id.trim());
  }
  const about = (phrase: string, into: Set<string>) => {
    for (const at of occurrences(text, phrase)) {
      const id = idBefore(text, at, ids);
      if (id) into.add(id);
    }
  };
  about("history shows it was applied", claims.applied);
  about("history shows it was not applied", claims.notApplied);
  about("nothing from this migration was applied", claims.notApplied);
  about("recorded as failed", claims.failed);
  return claims;
}

/** History rows (version -> status) of a tracking table; empty when it does not exist. */
export async function historyRows(query: QueryFn, schema: string, table = "confiture_migrations") {
  const rows = new Map<string, { status: string; error: string | null }>();
  const exists = await query("select to_regclass($1) is not null as ok", [`"${schema}"."${table}"`]);
  if (exists.rows[0]?.ok !== true) return rows;
  const r = await query(`select version, status, error from "${schema}"."${table}"`);
  for (const row of r.rows) {
    rows.set(String(row.version), {
      status: String(row.status),
      error: (row.error as string | null) ?? null,
    });
  }
  return rows;
}

/** Does `schema.name` exist (table or index)? */
export async function relationExists(query: QueryFn, schema: string, name: string): Promise<boolean> {
  const r = await query("select to_regclass($1) is not null as ok", [`"${schema}"."${name}"`]);
  return r.rows[0]?.ok === true;
}

/**
 * Assert that no claim is contradicted by the database: what was claimed applied has an
 * `applied` row and its table; what was claimed not applied has neither; what was claimed
 * recorded as failed has a `failed` row. `tableOf(id)` names the table each migration creates.
 * Returns a short description of the claims, for logs.
 */
export async function expectClaimsTrue(
  r: Pick<CliResult, "stdout" | "stderr"> & { code?: number | null },
  ids: readonly string[],
  query: QueryFn,
  schema: string,
  tableOf: (id: string) => string,
): Promise<string> {
  const claims = parseClaims(r, ids);
  const rows = await historyRows(query, schema);
  const false_: string[] = [];
  for (const id of claims.applied) {
    const status = rows.get(id)?.status;
    if (status !== "applied") false_.push(`${id} claimed applied, history row: ${status ?? "none"}`);
    if (!(await relationExists(query, schema, tableOf(id))))
      false_.push(`${id} claimed applied, table ${tableOf(id)} does not exist`);
  }
  for (const id of claims.notApplied) {
    const status = rows.get(id)?.status;
    if (status !== undefined) false_.push(`${id} claimed not applied, history row: ${status}`);
    if (await relationExists(query, schema, tableOf(id)))
      false_.push(`${id} claimed not applied, table ${tableOf(id)} exists`);
  }
  for (const id of claims.failed) {
    const status = rows.get(id)?.status;
    if (status !== "failed")
      false_.push(`${id} claimed recorded as failed, history row: ${status ?? "none"}`);
  }
  if (false_.length > 0) {
    throw new Error(
      `false claim(s): ${false_.join("; ")}\nexit ${"code" in r ? String(r.code) : "?"}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\n` +
        `history: ${JSON.stringify([...rows])}`,
    );
  }
  const list = (s: Set<string>) => [...s].join(",") || "-";
  return `claimed applied ${list(claims.applied)} / not applied ${list(claims.notApplied)} / failed ${list(claims.failed)}`;
}

/** A failed text-mode run: exactly one stderr line, `error: ...`, no stack trace, never an internal error. */
export function expectOneErrorLine(r: Pick<CliResult, "stdout" | "stderr" | "code">): string {
  const context = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  expect(r.stderr.endsWith("\n"), context).toBe(true);
  expect(r.stderr.split("\n"), context).toHaveLength(2);
  expect(r.stderr, context).toMatch(/^error: /);
  expect(r.stderr, context).not.toMatch(/internal error/i);
  expect(r.stderr, context).not.toMatch(/\n\s+at /);
  return r.stderr.trimEnd();
}

/** Sessions holding a Confiture advisory lock in the database `query` is connected to. */
export async function advisoryLocksHeld(query: QueryFn): Promise<number> {
  const r = await query(
    `select count(*)::int as n from pg_locks
      where locktype = 'advisory' and granted and classid = $1::bigint::oid
        and database = (select oid from pg_database where datname = current_database())`,
    [CONFITURE_LOCK_CLASSID],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * Wait until nobody holds the migration lock (a dead client's backend lingers until the server
 * notices the closed socket). Returns how long that took; fails after `timeoutMs`.
 */
export async function expectLockFreed(query: QueryFn, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const held = await advisoryLocksHeld(query);
    if (held === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      const who = await query(
        `select l.pid, a.application_name, a.state, left(a.query, 80) as query
           from pg_locks l left join pg_stat_activity a using (pid)
          where l.locktype = 'advisory' and l.granted
            and l.database = (select oid from pg_database where datname = current_database())`,
      );
      throw new Error(`the migration lock is still held after ${timeoutMs} ms: ${JSON.stringify(who.rows)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `--format json` output of a failed run: the error code and message (throws with the output when it is not one document). */
export function jsonError(r: Pick<CliResult, "stdout" | "stderr" | "code">): {
  code: string;
  message: string;
  exitCode: number;
} {
  let doc: { ok?: boolean; error?: { code: string; message: string; exitCode: number } };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(
      `stdout is not one JSON document (exit ${r.code})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
  }
  expect(doc.ok, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(false);
  expect(doc.error, r.stdout).toBeDefined();
  return doc.error!;
}
