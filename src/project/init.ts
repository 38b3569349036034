/**
 * `confiture init [--force]`: scaffold what is missing and create the tracking table.
 * `--force` recreates the tracking table but never drops history: the old table is renamed
 * to `<table>_backup` (or `<table>_backup_<UTC timestamp>` if that name is taken).
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ConfitureConfig } from "../config/types.js";
import { withDatabase } from "../db/command-session.js";
import { qualify, quoteIdent } from "../db/identifiers.js";
import {
  createTrackingTable,
  ensureHistoryTables,
  recordEvent,
  trackingTableExists,
} from "../migrations/tracking.js";

export interface InitResult {
  created: string[];
  trackingTable: "created" | "exists" | "recreated" | "skipped";
  /** When --force moved old history aside: where it went. */
  backupTable?: string;
  /** Why the database step was skipped. */
  note?: string;
}

const CONFIG_TEMPLATE = `# Confiture configuration. Every value may use \${VAR} or \${VAR:-default}.
# The database URL is taken from --database-url, CONFITURE_DATABASE_URL or DATABASE_URL first;
# uncomment database_url to keep it here instead (never write a password into this file).
# database_url: \${DATABASE_URL}
schema: public
migrations_dir: db/migrations
schema_dir: db/schema
tracking_table: confiture_migrations
lock_timeout: 60s
statement_lock_timeout: 5s
`;

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Scaffold the project and create (or with `force`, recreate) the tracking table.
 *
 * @example
 * const result = await init(config, { force: false });
 */
export async function init(config: ConfitureConfig, opts: { force?: boolean } = {}): Promise<InitResult> {
  const created: string[] = [];
  const configFile = config.configPath ?? path.join(config.projectDir, "confiture.yaml");
  if (!(await exists(configFile))) {
    await writeFile(configFile, CONFIG_TEMPLATE, { flag: "wx" });
    created.push(configFile);
  }
  for (const dir of [config.migrationsDir, config.schemaDir]) {
    if (!(await exists(dir))) {
      await mkdir(dir, { recursive: true });
      created.push(dir);
    }
  }
  if (config.database.url === undefined && config.database.error === undefined) {
    if (opts.force) {
      // --force is about the tracking table; without a database it would silently do nothing.
      const { requireDatabaseUrl } = await import("../config/load.js");
      requireDatabaseUrl(config);
    }
    return {
      created,
      trackingTable: "skipped",
      note: 'no database configured; set DATABASE_URL (or --database-url) and run "confiture init" again, or let the first "confiture migrate up" create the tracking table',
    };
  }
  return withDatabase(
    config,
    opts.force ? "init --force" : "init",
    { lock: true },
    async ({ session, tables }) => {
      const had = await trackingTableExists(session, tables);
      if (!opts.force || !had) {
        const { created: made } = await ensureHistoryTables(session, tables);
        if (made) {
          await recordEvent(session, tables, {
            command: "init",
            environment: config.environment,
            outcome: "success",
            details: { trackingTable: tables.trackingTable },
          });
        }
        return { created, trackingTable: made ? "created" : "exists" };
      }
      const backupTable = await backupName(session, tables.schema, tables.trackingTable);
      const rows = await session.query<{ n: string }>(
        `select count(*)::text as n from ${qualify(tables.schema, tables.trackingTable)}`,
      );
      await session.exec("begin");
      try {
        // The primary key's index keeps its name across a rename; rename it too so the new
        // table can have a `<table>_pkey` of its own.
        const cons = await session.query<{ conname: string }>(
          `select conname from pg_constraint where conrelid = $1::regclass and contype in ('p', 'u', 'x')`,
          [qualify(tables.schema, tables.trackingTable)],
        );
        await session.exec(
          `alter table ${qualify(tables.schema, tables.trackingTable)} rename to ${quoteIdent(backupTable)}`,
        );
        for (const [i, c] of cons.entries()) {
          const suffix = cons.length === 1 ? "pkey" : `key${i + 1}`;
          await session.exec(
            `alter table ${qualify(tables.schema, backupTable)} rename constraint ${quoteIdent(c.conname)} to ${quoteIdent(`${backupTable}_${suffix}`.slice(0, 63))}`,
          );
        }
        await createTrackingTable(session, tables);
        await session.exec("commit");
      } catch (err) {
        await session.exec("rollback").catch(() => {});
        throw err;
      }
      await ensureHistoryTables(session, tables);
      await recordEvent(session, tables, {
        command: "init --force",
        environment: config.environment,
        outcome: "success",
        details: { trackingTable: tables.trackingTable, backupTable, rowsKept: Number(rows[0]?.n ?? 0) },
      });
      return { created, trackingTable: "recreated", backupTable };
    },
  );
}

async function backupName(
  session: import("../db/session.js").Session,
  schema: string,
  table: string,
): Promise<string> {
  const plain = `${table}_backup`;
  const taken = async (name: string) =>
    (
      await session.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [
        qualify(schema, name),
      ])
    )[0]?.ok;
  if (!(await taken(plain))) return plain;
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  let name = `${table}_backup_${stamp}`;
  for (let n = 2; await taken(name); n++) name = `${table}_backup_${stamp}_${n}`;
  return name;
}
