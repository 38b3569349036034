/**
 * A database session: one `pg` connection with the facts every command needs
 * (server version, backend pid, database, user). This file and the rest of src/db are the
 * only places that import `pg`.
 */
import os from "node:os";
import pg from "pg";
import { BatchQuery } from "./batch-query.js";
import { type ConnectionSpec, describeTarget } from "./connection-spec.js";
import { quoteIdent } from "./identifiers.js";
import { connectionErrorFrom, toSqlError } from "./pg-errors.js";

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

/** Who we are, as recorded in applied_by and the events table. */
export function actorHost(): string {
  return os.hostname();
}

/**
 * Open a session. Connection failures become ConnectionError (exit 5) naming the target
 * without its password.
 *
 * @example
 * const s = await openSession({ connectionString: url, applicationName: "confiture: migrate status" });
 * try { await s.query("select 1"); } finally { await s.close(); }
 */
export async function openSession(spec: ConnectionSpec): Promise<Session> {
  const applicationName = spec.applicationName.slice(0, 63);
  const client = new pg.Client({
    connectionString: spec.connectionString,
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password,
    database: spec.database,
    application_name: applicationName,
    connectionTimeoutMillis: spec.connectTimeoutMs ?? 10_000,
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
    throw connectionErrorFrom(err, describeTarget(spec));
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
    throw connectionErrorFrom(err, describeTarget(spec));
  }
  if (spec.schema !== undefined && spec.schema !== "public") {
    try {
      // Unqualified names in migrations belong to the managed schema (public stays reachable
      // for extensions installed there). With the default schema the role's own search_path applies.
      await client.query("select set_config('search_path', $1, false)", [
        `${quoteIdent(spec.schema)}, public`,
      ]);
    } catch (err) {
      await client.end().catch(() => {});
      throw toSqlError(err);
    }
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
