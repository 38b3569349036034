/**
 * `verify --fix`: the safe repairs, through the one execution path for changes (protected
 * environment consent, the migration lock, an audit event): `setval` of a sequence behind its
 * column to the column's max, `ANALYZE` of a table without statistics, `REINDEX INDEX
 * CONCURRENTLY` of an invalid index (and `DROP INDEX CONCURRENTLY` of the `_ccnew` / `_ccold`
 * copies a failed concurrent rebuild leaves, PostgreSQL's documented recovery for them).
 *
 * Each repair is one step and reports its own outcome: one that fails (a unique index over
 * duplicate rows cannot be rebuilt) is reported with the server's reason, and the others still
 * run. The statements touch user objects only, never Confiture's history tables (verify leaves
 * those out of everything it reads), and none of them changes a row: they are not the
 * writes the history rule guards.
 */
import { qualify, quoteIdent } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { ConfitureError, ConnectionLostError, LockTimeoutError, SqlError } from "../errors.js";
import type { RunContext } from "../ops/context.js";
import { type ChangeStep, executeChange, type StepContext } from "../ops/execute.js";
import { oneLine, type VerifyFix } from "./verify-items.js";
import type { Repair } from "./verify-live-items.js";

export interface FixOptions {
  force?: boolean | undefined;
  confirm?: ((question: string) => Promise<boolean>) | undefined;
  onProgress?: ((message: string) => void) | undefined;
}

/** What a repair is about, as reports name it. */
export function repairSubject(r: Repair): string {
  if (r.kind === "setval") return `${r.sequence} (${r.table}.${r.column})`;
  if (r.kind === "analyze") return r.table;
  return `${r.index} on ${r.table}`;
}

/** The statement a repair runs (identifiers quoted; no value is ever spliced in). */
export function repairStatement(r: Repair, schema: string): string {
  switch (r.kind) {
    case "reindex":
      return `REINDEX INDEX CONCURRENTLY ${qualify(schema, r.index)}`;
    case "drop-leftover":
      return `DROP INDEX CONCURRENTLY IF EXISTS ${qualify(schema, r.index)}`;
    case "analyze":
      return `ANALYZE ${qualify(schema, r.table)}`;
    case "setval":
      return (
        `SELECT setval(${quoteLiteralRegclass(schema, r.sequence)}, ` +
        `(SELECT ${r.descending ? "min" : "max"}(${quoteIdent(r.column)}) FROM ${qualify(schema, r.table)}))`
      );
  }
}

/**
 * Run the repairs (there is at least one) and report each; throws only for what ends the whole
 * run (consent refused, the lock held elsewhere, a lost connection).
 */
export async function applyRepairs(
  run: RunContext,
  repairs: Repair[],
  opts: FixOptions,
): Promise<VerifyFix[]> {
  const schema = run.tables.schema;
  const lockTimeout = `${run.statementLockTimeoutMs}ms`;
  const done = await executeChange<VerifyFix>({
    context: run,
    consent: {
      force: opts.force,
      confirm: opts.confirm,
      action: "repairing (verify --fix)",
      describe: () => repairs.map((r) => repairStatement(r, schema)),
    },
    async prepare() {
      return repairs.map((r): ChangeStep<VerifyFix> => {
        const action = repairStatement(r, schema);
        const subject = repairSubject(r);
        const report = (ok: boolean, message: string): VerifyFix => ({
          item: r.item,
          subject,
          action,
          ok,
          message: oneLine(message, 400),
        });
        return {
          id: `${r.kind} ${subject}`,
          mode: r.kind === "reindex" || r.kind === "drop-leftover" ? "no-transaction" : "transactional",
          async run(ctx) {
            try {
              return report(true, await runRepair(ctx, r, action, lockTimeout));
            } catch (err) {
              if (err instanceof ConnectionLostError || !(err instanceof ConfitureError)) throw err;
              return report(false, await explainFailure(ctx.session, r, schema, err, lockTimeout));
            }
          },
        };
      });
    },
    onStep: (step, i, n) => opts.onProgress?.(`repairing ${step.id} (${i + 1}/${n})`),
    audit: {
      command: "verify --fix",
      success: (steps) => ({ fixes: steps.map((s) => s.result) }),
      failure: (steps) => ({ fixes: steps.map((s) => s.result) }),
    },
  }).catch((err: unknown) => {
    // The lock comes before the first repair: say so, as the lock's own message cannot.
    if (err instanceof LockTimeoutError) throw err.withNote(" verify --fix repaired nothing.");
    throw err;
  });
  return done.map((d) => d.result);
}

async function runRepair(ctx: StepContext, r: Repair, action: string, lockTimeout: string): Promise<string> {
  const { session } = ctx;
  if (r.kind === "setval" || r.kind === "analyze") {
    // A table lock held by someone else makes the repair fail after statement_lock_timeout,
    // rather than queue in front of the application's traffic.
    return ctx.inTransaction(async () => {
      await session.query("select set_config('lock_timeout', $1, true)", [lockTimeout]);
      if (r.kind === "analyze") {
        await session.exec(action);
        return "analysed: the planner has statistics for it now";
      }
      const [row] = await session.query<{ v: string | null }>(`${action}::text as v`);
      return row?.v == null
        ? "nothing to do: the column holds no value"
        : `set to ${row.v} (the column's ${r.descending ? "min" : "max"}); the next value is past it`;
    });
  }
  await session.query("select set_config('lock_timeout', $1, false)", [lockTimeout]);
  try {
    // Unbounded by query_timeout: rebuilding a large index rightly takes long.
    await session.exec(action);
  } finally {
    await session.query("reset lock_timeout").catch(() => {});
  }
  return r.kind === "reindex" ? "rebuilt: the index is valid now" : `dropped (a leftover copy of ${r.of})`;
}

/**
 * A failed repair, said with the server's reason. A failed `REINDEX CONCURRENTLY` leaves a
 * `_ccnew` copy of the index, itself invalid: it is dropped here, so a failed repair does not
 * leave the schema with one more invalid index than before.
 */
async function explainFailure(
  session: Session,
  r: Repair,
  schema: string,
  err: ConfitureError,
  lockTimeout: string,
): Promise<string> {
  const reason = serverReason(err);
  if (r.kind !== "reindex") return reason;
  const leftovers = await session
    .query<{ name: string }>(
      `select c.relname::text as name
         from pg_index x join pg_class c on c.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
        where t.relnamespace = (select oid from pg_namespace where nspname = $1) and t.relname = $2
          and not x.indisvalid and starts_with(c.relname, left($3, 50)) and c.relname ~ '_ccnew[0-9]*$'`,
      [schema, r.table, r.index],
    )
    .catch(() => []);
  const dropped: string[] = [];
  for (const { name } of leftovers) {
    try {
      await session.query("select set_config('lock_timeout', $1, false)", [lockTimeout]);
      await session.exec(`DROP INDEX CONCURRENTLY IF EXISTS ${qualify(schema, name)}`);
      dropped.push(name);
    } catch (dropErr) {
      if (dropErr instanceof ConnectionLostError) throw dropErr;
    } finally {
      await session.query("reset lock_timeout").catch(() => {});
    }
  }
  const cleaned = dropped.length > 0 ? `; the partial copy it left (${dropped.join(", ")}) was dropped` : "";
  return `${reason}${cleaned}. The index stays invalid: fix the cause, then run "confiture verify --fix" again`;
}

/** `could not create unique index "x_ccnew": Key (email)=(a) is duplicated. (23505)`: the server's whole reason. */
function serverReason(err: ConfitureError): string {
  if (!(err instanceof SqlError)) return err.message;
  const { detail, sqlstate } = err.server;
  return `${err.message}${detail ? `: ${detail}` : ""}${sqlstate && !err.message.includes(sqlstate) ? ` (${sqlstate})` : ""}`;
}

/** `'"app"."orders_id_seq"'::regclass`: a quoted name as a regclass literal. */
function quoteLiteralRegclass(schema: string, name: string): string {
  return `'${qualify(schema, name).replace(/'/g, "''")}'::regclass`;
}
