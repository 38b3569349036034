/**
 * A database session: one `pg` connection with the facts every command needs
 * (server version, backend pid, database, user). This file and the rest of src/db are the
 * only places that import `pg`.
 */
import os from "node:os";
import pg from "pg";
import { BatchQuery } from "./batch-query.js";
import { connectionErrorFrom, toSqlError } from "./pg-errors.js";

/** What a command tells the server about itself, visible in pg_stat_activity. */
export interface SessionOptions {
  /** e.g. "migrate up"; becomes application_name "confiture: migrate up". */
  command: string;
  /** Milliseconds to wait for the TCP connection and authentication. Default 10 s. */
  connectTimeoutMs?: number;
}

/** An open connection. `query` throws SqlError for server errors. */
export interface Session {
  readonly pid: number;
  readonly database: string;
  readonly user: string;
  readonly serverVersion: string;
  readonly serverVersionNum: number;
  readonly applicationName: string;
  /** Run one statement (extended protocol when params are given). Returns the rows. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /**
   * Run SQL text through the simple protocol (several statements allowed). Errors are thrown
   * as SqlError with the server's `position` relative to `sql`.
   */
  exec(sql: string): Promise<void>;
  /**
   * Run several statements in one message (one round trip). A failure is a SqlError whose
   * `statementIndex` names the statement and whose `server.position` is relative to it.
   */
  execBatch(texts: string[]): Promise<void>;
  /** Close the connection; never throws. */
  close(): Promise<void>;
  /** True once the connection has failed or been closed. */
  readonly closed: boolean;
}

export const TOOL_VERSION = "0.1.0";

/**
 * The URL as it may be shown: rebuilt from its parsed parts with the password replaced, so a
 * password that no pattern would recognise (spaces, quotes) still never reaches a message.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const auth = u.username ? `${u.username}${u.password ? ":***" : ""}@` : "";
    return `${u.protocol}//${auth}${u.host}${u.pathname}`;
  } catch {
    return "the configured database URL";
  }
}

/** Who we are, as recorded in applied_by and the events table. */
export function actorHost(): string {
  return os.hostname();
}

/**
 * Open a session. Connection failures become ConnectionError (exit 5) with the URL's
 * password redacted.
 *
 * @example
 * const s = await openSession(url, { command: "migrate status" });
 * try { await s.query("select 1"); } finally { await s.close(); }
 */
export async function openSession(url: string, options: SessionOptions): Promise<Session> {
  const applicationName = `confiture: ${options.command}`.slice(0, 63);
  const client = new pg.Client({
    connectionString: url,
    application_name: applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    keepAlive: true,
  });
  let closed = false;
  // A dead connection emits 'error' outside of any query; without a listener Node would crash.
  client.on("error", () => {
    closed = true;
  });
  client.on("end", () => {
    closed = true;
  });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw connectionErrorFrom(err, displayUrl(url));
  }
  let info: { pid: number; db: string; usr: string; ver: string; num: string };
  try {
    const r = await client.query(
      "select pg_backend_pid() as pid, current_database() as db, current_user as usr, " +
        "current_setting('server_version') as ver, current_setting('server_version_num') as num, " +
        // Recorded in applied_by; set once here so history statements need no host parameter.
        "set_config('confiture.host', $1, false) as host, " +
        // PostgreSQL 14+: notice a killed client during a long statement and free its locks.
        "case when current_setting('server_version_num')::int >= 140000 " +
        "then set_config('client_connection_check_interval', '2s', false) end as check_interval",
      [actorHost()],
    );
    info = r.rows[0];
  } catch (err) {
    await client.end().catch(() => {});
    throw connectionErrorFrom(err, displayUrl(url));
  }
  const serverVersionNum = Number(info.num);
  return {
    pid: Number(info.pid),
    database: info.db,
    user: info.usr,
    serverVersion: info.ver,
    serverVersionNum,
    applicationName,
    get closed() {
      return closed;
    },
    async query<R>(sql: string, params?: unknown[]): Promise<R[]> {
      try {
        const r = await client.query(sql, params as unknown[] | undefined);
        return r.rows as R[];
      } catch (err) {
        throw toSqlError(err);
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        await client.query(sql);
      } catch (err) {
        throw toSqlError(err);
      }
    },
    async execBatch(texts: string[]): Promise<void> {
      const batch = new BatchQuery(texts);
      client.query(batch as unknown as pg.QueryConfig);
      await batch.done;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await client.end().catch(() => {});
    },
  };
}
