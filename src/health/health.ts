/**
 * `health check`: is this database fit to migrate and to recover? Connection and latency,
 * server version, recovery, tracking table, migration lock, pending / failed migrations,
 * checksums, newest backup against `objectives.rpo`, WAL archiving. Read-only: no lock taken,
 * nothing created.
 *
 * Fast on purpose (a probe runs it): one session; the facts the session did not already read
 * come in one round trip, then the history, whose round trip covers reading and hashing the
 * migration files and listing the backups. Lost history and the lock holder cost a query each,
 * only when there is something to say.
 */
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { type LockHolder, lockHolder } from "../db/advisory-lock.js";
import type { Session } from "../db/session.js";
import { ConnectionError, SqlError } from "../errors.js";
import type { AppliedRow, HistoryStore } from "../history/index.js";
import { type ListedMigration, listMigrations, readListed } from "../migrations/files.js";
import { untrackedObjects } from "../migrations/lost-history.js";
import { inspect, type RunContext, runContext } from "../ops/context.js";
import { redactText } from "../redact/index.js";
import { type BackupListing, findBackups } from "./health-backup-files.js";
import {
  backupItem,
  checksumsItem,
  connectionFailedItem,
  connectionItem,
  failedItem,
  lockItem,
  pendingItem,
  recoveryItem,
  serverItem,
  trackingItem,
  trackingUnreadableItem,
  walItem,
} from "./health-checks.js";
import { readServerFacts, type ServerFacts } from "./health-facts.js";
import { type HealthItem, type HealthResult, healthReport, worstOf } from "./health-item.js";

export type { HealthItem, HealthLevel, HealthResult } from "./health-item.js";

/**
 * Run every health check. Never throws for what it finds, an unreachable server included (a
 * CRIT `connection` check; the database checks are then not listed). Configuration and
 * migration-file errors are thrown as by every other command.
 *
 * @example
 * const { worst, checks } = await healthCheck(config);
 * if (worst === "CRIT") alert(checks.filter((c) => c.level === "CRIT"));
 */
export async function healthCheck(config: ConfitureConfig): Promise<HealthResult> {
  const started = performance.now();
  const now = new Date();
  const listed = await listMigrations(config.migrationsDir, config);
  const run = runContext(config, COMMANDS.healthCheck);
  // A missing or malformed URL is a configuration error (exit 2), not a health finding.
  let database = databaseOfUrl(run.connection.connectionString);
  let backups: Promise<BackupListing> | undefined;
  const listBackups = () => {
    // Read while the history query is on the server; awaited at the end (it never rejects).
    if (database !== null) backups = findBackups(config.backup.dir, database, now);
  };
  let checks: HealthItem[];
  let wal: HealthItem | undefined;
  const connecting = performance.now();
  try {
    checks = await inspect(run, async ({ session, history }) => {
      const connectMs = performance.now() - connecting;
      database = session.database;
      try {
        const found = await databaseChecks(session, history, run, listed, connectMs, listBackups);
        wal = found.wal;
        return found.checks;
      } catch (err) {
        // Lost mid-way (or the server refused a health query): nothing below it can be trusted.
        if (!isFinding(err)) throw err;
        return [connectionFailedItem(`connected, but ${redactText(err.message)}`, { code: err.code })];
      }
    });
  } catch (err) {
    if (!isFinding(err)) throw err;
    checks = [connectionFailedItem(redactText(err.message), { code: err.code })];
  }
  if (backups === undefined) listBackups();
  checks.push(backupItem(await backups, config.objectives.rpoMs, now));
  if (wal !== undefined) checks.push(wal);
  return {
    database,
    checks,
    worst: worstOf(checks),
    elapsedMs: Math.round(performance.now() - started),
    report: healthReport(checks),
  };
}

/** Every check that needs the server, in order; WAL archiving apart (it follows backups). */
async function databaseChecks(
  session: Session,
  history: HistoryStore,
  run: RunContext,
  listed: ListedMigration[],
  connectMs: number,
  listBackups: () => void,
): Promise<{ checks: HealthItem[]; wal: HealthItem }> {
  const sent = performance.now();
  const facts: ServerFacts = await readServerFacts(session, run.tables, run.lockKey);
  const roundTripMs = performance.now() - sent;
  const checks: HealthItem[] = [
    connectionItem(connectMs, roundTripMs),
    serverItem(session.serverVersion, session.serverVersionNum),
    recoveryItem(session.readOnly),
  ];

  // The history query goes out first; the files are read and hashed while the server answers.
  const reading = history.read();
  reading.catch(() => {}); // awaited below; a file error thrown first must not leave it unobserved
  const files = readListed(listed);
  listBackups();
  let rows: AppliedRow[] | undefined;
  try {
    rows = await reading;
    const untracked = rows.length === 0 ? await untrackedObjects(session, run.tables) : undefined;
    checks.push(trackingItem(run.tables, facts.trackingTableExists, rows.length, untracked));
  } catch (err) {
    if (!(err instanceof SqlError)) throw err;
    rows = undefined;
    checks.push(trackingUnreadableItem(run.tables, err.message));
  }

  let holder: LockHolder | undefined;
  if (facts.lockHeld) holder = await lockHolder(session, run.lockKey);
  checks.push(lockItem(run.lockKey.label, holder));

  // Without the history, pending, failed and checksums would be guesses: not listed.
  if (rows !== undefined) {
    checks.push(pendingItem(files, rows), failedItem(rows), checksumsItem(files, rows));
  }
  return { checks, wal: walItem(facts.archiver, facts.serverNow) };
}

/** What health reports as a CRIT `connection` check instead of throwing. */
function isFinding(err: unknown): err is ConnectionError | SqlError {
  return err instanceof ConnectionError || err instanceof SqlError;
}

/**
 * The database a URL names (libpq's default, the user name, when it names none), or null when
 * it cannot be told.
 */
function databaseOfUrl(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const u = new URL(url);
    const name = decodeURIComponent(u.pathname.replace(/^\//, ""));
    const user = decodeURIComponent(u.username);
    return name || u.searchParams.get("dbname") || user || null;
  } catch {
    return null;
  }
}
