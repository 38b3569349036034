/**
 * Turns what `pg` throws into Confiture's typed errors. Connection-level failures
 * (refused, unknown host, bad password, missing database) become ConnectionError (exit 5);
 * server errors during a statement become SqlError with every field PostgreSQL sent.
 */
import { ConnectionError, redactSecrets, type ServerErrorFields, SqlError } from "../errors.js";

interface PgLikeError {
  message?: string;
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  schema?: string;
  table?: string;
  constraint?: string;
  errno?: number;
  syscall?: string;
  hostname?: string;
  address?: string;
  port?: number;
}

/** SQLSTATEs that mean "you cannot use this server / database as configured". */
const CONNECTION_SQLSTATES: Record<string, string> = {
  "28P01": "password authentication failed",
  "28000": "the server rejected the login",
  "3D000": "the database does not exist",
  "57P03": "the server is starting up or shutting down",
  "53300": "the server has too many connections",
};

/** The server fields of a pg DatabaseError, or undefined for other errors. */
export function serverFields(err: unknown): ServerErrorFields | undefined {
  if (err instanceof SqlError) return err.server;
  const e = err as PgLikeError;
  if (!e || typeof e !== "object" || typeof e.code !== "string" || !/^[0-9A-Z]{5}$/.test(e.code)) {
    return undefined;
  }
  return {
    sqlstate: e.code,
    detail: e.detail,
    hint: e.hint,
    position: e.position ? Number(e.position) : undefined,
    where: e.where,
    schema: e.schema,
    table: e.table,
    constraint: e.constraint,
  };
}

/** Map an error from connecting to a ConnectionError whose message says what to check. */
export function connectionErrorFrom(err: unknown, redactedUrl: string): ConnectionError {
  const e = (err ?? {}) as PgLikeError;
  const raw = redactSecrets(String(e.message ?? err));
  const code = e.code ?? "";
  let what: string;
  let next: string;
  if (code in CONNECTION_SQLSTATES) {
    what = `${CONNECTION_SQLSTATES[code]}: ${raw} (${code})`;
    next =
      code === "3D000"
        ? "create it or fix the database name in the URL"
        : code === "28P01" || code === "28000"
          ? "check the user and password (DATABASE_URL or database_url in confiture.yaml)"
          : "try again in a moment";
  } else if (code === "ECONNREFUSED") {
    what = "connection refused";
    next = "is PostgreSQL running and listening on that host and port?";
  } else if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    what = `unknown host ${e.hostname ?? ""}`.trim();
    next = "check the host name in the URL";
  } else if (code === "ETIMEDOUT" || /timeout/i.test(raw)) {
    what = "connection timed out";
    next = "check the host, port and any firewall between here and the server";
  } else {
    what = raw;
    next = "check the database URL";
  }
  return new ConnectionError(`cannot connect to ${redactedUrl}: ${what}; ${next}`, "CONNECTION_FAILED", {
    details: { sqlstate: /^[0-9A-Z]{5}$/.test(code) ? code : undefined, cause: code || undefined },
  });
}

/** True when the error is a server-side lock timeout (SQLSTATE 55P03). */
export function isLockNotAvailable(err: unknown): boolean {
  return serverFields(err)?.sqlstate === "55P03";
}

/**
 * Wrap a server error raised by a statement; non-server errors pass through unchanged. For a
 * statement sent in a batch, `batch` says which one failed and its position within it.
 */
export function toSqlError(
  err: unknown,
  batch?: { statementIndex: number; position: number | undefined },
): unknown {
  if (err instanceof SqlError && batch === undefined) return err;
  const fields = serverFields(err);
  if (!fields) return err;
  const message = redactSecrets((err as PgLikeError).message ?? "error");
  if (batch === undefined) return new SqlError(message, fields, { cause: err });
  return new SqlError(
    message,
    { ...fields, position: batch.position },
    { cause: err, statementIndex: batch.statementIndex },
  );
}

/** Why a connection was lost, in a few words, for messages (redacted). */
export function lostReason(err: unknown): string {
  const e = err as PgLikeError;
  const fields = serverFields(err);
  if (fields?.sqlstate) return `${redactSecrets(String(e?.message ?? "terminated"))} (${fields.sqlstate})`;
  if (e?.code === "ECONNRESET") return "connection reset by the server or the network";
  if (e?.code === "EPIPE") return "the connection was closed while sending";
  return redactSecrets(String(e?.message ?? err)).replace(/\.$/, "");
}

/** True for errors that mean the connection itself is gone (killed backend, network). */
export function isConnectionLost(err: unknown): boolean {
  const e = err as PgLikeError;
  if (!e || typeof e !== "object") return false;
  const sqlstate = serverFields(err)?.sqlstate;
  if (sqlstate === "57P01" || sqlstate === "57P02" || sqlstate === "57P03") return true;
  if (["57P01", "57P02", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"].includes(String(e.code)))
    return true;
  return /Connection terminated|connection is closed|Client has encountered a connection error|Client was closed|not queryable/i.test(
    String(e.message),
  );
}
