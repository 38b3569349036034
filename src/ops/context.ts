/**
 * The run context: the part of the configuration a database operation needs, narrowed once
 * at the top of each library function. Below this line nothing sees `ConfitureConfig`.
 */
import { isAbsolute, relative } from "node:path";
import { requireDatabaseUrl } from "../config/index.js";
import type { ConfitureConfig } from "../config/types.js";
import { type LockKey, migrationLockKey } from "../db/advisory-lock.js";
import type { ConnectionSpec } from "../db/connection-spec.js";
import type { Session } from "../db/session.js";
import { withSession } from "../db/with-session.js";
import { type HistoryStore, type HistoryTables, historyStore } from "../history/index.js";

export interface RunContext {
  /** What the sessions are named after (`confiture: <command>`), e.g. `migrate up --dry-run`. */
  command: string;
  /**
   * The configured database. Read lazily: a missing or malformed URL is reported when a
   * session is about to be opened, after the command's own input (files, flags) was checked.
   */
  readonly connection: ConnectionSpec;
  tables: HistoryTables;
  lockKey: LockKey;
  lockTimeoutMs: number;
  statementLockTimeoutMs: number;
  environment: string | undefined;
  protected: boolean;
}

/**
 * Narrow the configuration to what a run of `command` needs.
 * @example const run = runContext(config, COMMANDS.migrateStatus);
 */
export function runContext(config: ConfitureConfig, command: string): RunContext {
  return {
    command,
    get connection(): ConnectionSpec {
      return {
        connectionString: requireDatabaseUrl(config),
        applicationName: `confiture: ${command}`,
        schema: config.schema,
        queryTimeoutMs: config.queryTimeoutMs,
        source: urlSource(config),
      };
    },
    tables: { schema: config.schema, trackingTable: config.trackingTable },
    lockKey: migrationLockKey(config.schema, config.trackingTable),
    lockTimeoutMs: config.lockTimeoutMs,
    statementLockTimeoutMs: config.statementLockTimeoutMs,
    environment: config.environment,
    protected: config.protected,
  };
}

/**
 * Where the database URL came from, as connection hints name it: `--database-url`,
 * `CONFITURE_DATABASE_URL`, `DATABASE_URL`, or a key and its file
 * (`environments.production.database_url in confiture.yaml`).
 */
function urlSource(config: ConfitureConfig): string | undefined {
  const source = config.database.source;
  if (source === undefined || source.startsWith("--") || /^[A-Z][A-Z0-9_]*$/.test(source)) return source;
  if (config.configPath === undefined) return source;
  const rel = relative(process.cwd(), config.configPath);
  return `${source} in ${rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : config.configPath}`;
}

/**
 * A read-only look at the database: a session and its history, no lock, nothing created.
 * @example const rows = await inspect(run, ({ history }) => history.read());
 */
export function inspect<T>(
  run: RunContext,
  fn: (db: { session: Session; history: HistoryStore }) => Promise<T>,
): Promise<T> {
  return withSession(run.connection, (session) =>
    fn({ session, history: historyStore(session, run.tables) }),
  );
}
