/**
 * A database session: one `pg` connection with the facts every command needs
 * (server version, backend pid, database, user). This file and the rest of src/db are the
 * only places that import `pg`.
 */
import os from "node:os";
import pg from "pg";
import { ConnectionLostError } from "../errors.js";
import { hideSecret } from "../redact/index.js";
import { BatchQuery } from "./batch-query.js";
import { type ConnectionSpec, describeTarget } from "./connection-spec.js";
import { quoteIdent } from "./identifiers.js";
import { lookupPassFile, type PassFileKey } from "./pass-file.js";
import {
  type CredentialContext,
  connectionErrorFrom,
  isConnectionLost,
  lostReason,
  passwordRequiredError,
  toSqlError,
} from "./pg-errors.js";

/** An open connection. `query` throws SqlError for server errors. */
export interface Session {
  readonly pid: number;
  readonly database: string;
  readonly user: string;
  readonly serverVersion: string;
  readonly serverVersionNum: number;
  readonly applicationName: string;
  /** How messages name the server: the URL without its password. */
  readonly target: string;
  /** Set when the server cannot take writes: a hot standby, or read-only by default. */
  readonly readOnly: "standby" | "read-only" | null;
  /**
   * One of Confiture's own statements (extended protocol when params are given); returns the
   * rows. Bounded by the spec's `queryTimeoutMs` plus `extraMs` (for a wait the statement is
   * meant to do, such as the lock wait). A lost or silent connection is a ConnectionLostError.
   */
  query<R = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    opts?: { extraMs?: number },
  ): Promise<R[]>;
  /**
   * Run a migration's SQL text through the simple protocol (several statements allowed), with
   * no client-side time bound. Errors are thrown as SqlError with the server's `position`
   * relative to `sql`. Confiture's own statements go through `query`, which is bounded.
   */
  exec(sql: string): Promise<void>;
  /**
   * Run several statements in one message (one round trip). A failure is a SqlError whose
   * `statementIndex` names the statement and whose `server.position` is relative to it.
   */
  execBatch(texts: string[]): Promise<void>;
  /** Where the session stands after the last statement: idle, inside a transaction, or in a failed one. */
  transactionStatus(): "idle" | "in-transaction" | "failed" | "unknown";
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
  hideSecret(spec.password);
  hideSecret(urlPassword(spec.connectionString));
  const client = new pg.Client({
    connectionString: spec.connectionString,
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password,
    database: spec.database,
    application_name: applicationName,
    connectionTimeoutMillis: spec.connectTimeoutMs ?? 10_000,
    // Probes a quiet connection after 10 s, so a dead path is noticed while a statement runs.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  const target = describeTarget(spec);
  const credentials = readPasswordFileWhenAsked(client, spec, target);
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
    throw connectionErrorFrom(err, target, credentials);
  }
  let info: { pid: number; db: string; usr: string; ver: string; num: string; rec: boolean; ro: string };
  // The connection is up: from here a silence or a drop is a lost connection, not a failed connect.
  const lost = (err: unknown) => new ConnectionLostError(target, lostReason(err), undefined, { cause: err });
  const bounded = <T>(work: Promise<T>, ms: number | undefined): Promise<T> => {
    if (ms === undefined) return work;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        closed = true;
        // The client would wait forever for the answer; destroying the socket ends the session
        // on our side now, and on the server's as soon as it notices.
        (
          client as unknown as { connection?: { stream?: { destroy(): void } } }
        ).connection?.stream?.destroy();
        reject(new ConnectionLostError(target, `no answer within ${formatMs(ms)}`));
      }, ms);
      work.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  };
  try {
    const r = await bounded(
      client.query(
        "select pg_backend_pid() as pid, current_database() as db, current_user as usr, " +
          "current_setting('server_version') as ver, current_setting('server_version_num') as num, " +
          // Recorded in applied_by; set once here so history statements need no host parameter.
          "set_config('confiture.host', $1, false) as host, " +
          // PostgreSQL 14+: notice a killed client during a long statement and free its locks.
          "case when current_setting('server_version_num')::int >= 140000 " +
          "then set_config('client_connection_check_interval', '2s', false) end as check_interval, " +
          // A change on a standby (or a read-only default) would fail half-way: detect it first.
          "pg_is_in_recovery() as rec, current_setting('transaction_read_only') as ro",
        [actorHost()],
      ),
      spec.queryTimeoutMs,
    );
    info = r.rows[0];
  } catch (err) {
    await client.end().catch(() => {});
    if (err instanceof ConnectionLostError) throw err;
    throw isConnectionLost(err) ? lost(err) : connectionErrorFrom(err, target, credentials);
  }
  if (spec.schema !== undefined && spec.schema !== "public") {
    try {
      // Unqualified names in migrations belong to the managed schema (public stays reachable
      // for extensions installed there). With the default schema the role's own search_path applies.
      await bounded(
        client.query("select set_config('search_path', $1, false)", [`${quoteIdent(spec.schema)}, public`]),
        spec.queryTimeoutMs,
      );
    } catch (err) {
      await client.end().catch(() => {});
      if (err instanceof ConnectionLostError) throw err;
      throw isConnectionLost(err) ? lost(err) : toSqlError(err);
    }
  }
  const classify = (err: unknown): unknown => {
    if (err instanceof ConnectionLostError) return err;
    if (isConnectionLost(err) || closed) {
      closed = true;
      return lost(err);
    }
    return toSqlError(err);
  };
  const serverVersionNum = Number(info.num);
  return {
    pid: Number(info.pid),
    database: info.db,
    user: info.usr,
    serverVersion: info.ver,
    serverVersionNum,
    applicationName,
    target,
    readOnly: info.rec ? "standby" : info.ro === "on" ? "read-only" : null,
    get closed() {
      return closed;
    },
    async query<R>(sql: string, params?: unknown[], opts: { extraMs?: number } = {}): Promise<R[]> {
      if (closed) throw lost(new Error("the connection is closed"));
      const ms = spec.queryTimeoutMs === undefined ? undefined : spec.queryTimeoutMs + (opts.extraMs ?? 0);
      try {
        const r = await bounded(client.query(sql, params as unknown[] | undefined), ms);
        return r.rows as R[];
      } catch (err) {
        throw classify(err);
      }
    },
    async exec(sql: string): Promise<void> {
      if (closed) throw lost(new Error("the connection is closed"));
      try {
        await client.query(sql);
      } catch (err) {
        throw classify(err);
      }
    },
    async execBatch(texts: string[]): Promise<void> {
      if (closed) throw lost(new Error("the connection is closed"));
      const batch = new BatchQuery(texts);
      client.query(batch as unknown as pg.QueryConfig);
      try {
        await batch.done;
      } catch (err) {
        throw classify(err);
      }
    },
    transactionStatus() {
      const status = (
        client as unknown as { getTransactionStatus?(): string | null }
      ).getTransactionStatus?.();
      return status === "I"
        ? "idle"
        : status === "T"
          ? "in-transaction"
          : status === "E"
            ? "failed"
            : "unknown";
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await client.end().catch(() => {});
    },
  };
}

/**
 * When neither the spec, the URL nor PGPASSWORD gave a password, read libpq's password file, and
 * only once the server asks for one (pg calls a password function exactly then). pg would read
 * the file itself, but prints a DeprecationWarning to stderr when it does (pg 8.x), and fails
 * with "SASL: ... client password must be a string" when the file has nothing: here that is a
 * ConnectionError saying a password is required and how to give one. Returns what connection
 * hints may name; its `password` is filled in when the file supplies the password.
 */
function readPasswordFileWhenAsked(
  client: pg.Client,
  spec: ConnectionSpec,
  target: string,
): CredentialContext {
  const context: CredentialContext = { source: spec.source };
  // pg resolved the password from the spec, the URL and PGPASSWORD when the client was made.
  const resolved = (client as unknown as { password: unknown }).password;
  if (typeof resolved === "string" && resolved !== "") {
    context.password =
      spec.password !== undefined && spec.password !== ""
        ? { from: "parameters" }
        : resolved === process.env.PGPASSWORD && !urlHasPassword(spec.connectionString)
          ? { from: "PGPASSWORD" }
          : { from: spec.connectionString === undefined ? "parameters" : "url" };
    return context;
  }
  (client as unknown as { password: (key: PassFileKey) => Promise<string> }).password = async (key) => {
    const found = await lookupPassFile(
      spec.passFileDatabase === undefined ? key : { ...key, database: spec.passFileDatabase },
    );
    if (found.password !== undefined && found.line !== undefined) {
      context.password = { from: "file", file: found.file, line: found.line };
      hideSecret(found.password);
      return found.password;
    }
    throw passwordRequiredError(target, key.user ?? "", context, found);
  };
  return context;
}

/** The password a URL carries, or undefined. */
function urlPassword(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).password || undefined;
  } catch {
    return undefined;
  }
}

/** True when a connection URL carries a password of its own (unparsable: assume it does). */
function urlHasPassword(url: string | undefined): boolean {
  if (url === undefined) return false;
  try {
    const u = new URL(url);
    return u.password !== "" || u.searchParams.has("password");
  } catch {
    return true;
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
