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

/**
 * SQLSTATEs that mean "you cannot use this server / database as configured": what to call the
 * failure, unless the server's own message already says it (it does in English; a server with
 * another lc_messages may not).
 */
const CONNECTION_SQLSTATES: Record<string, { label: string; said: RegExp }> = {
  "28P01": { label: "password authentication failed", said: /password authentication failed/i },
  "28000": { label: "the server rejected the login", said: /rejected|rejects/i },
  "3D000": { label: "the database does not exist", said: /does not exist/i },
  "57P03": { label: "the server is starting up or shutting down", said: /starting up|shutting down/i },
  "53300": { label: "the server has too many connections", said: /too many/i },
};

/** Where the password came from (or that none was found), so a hint can say what to fix. */
export type PasswordOrigin =
  | { from: "url" }
  | { from: "parameters" }
  | { from: "PGPASSWORD" }
  | { from: "file"; file: string; line: number };

/** What a connection failure's hint may name: where the URL came from and where its password did. */
export interface CredentialContext {
  /** Where the URL came from (`--database-url`, `DATABASE_URL`, `database_url in confiture.yaml`). */
  source?: string | undefined;
  password?: PasswordOrigin | undefined;
}

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

/**
 * Map an error from connecting to a ConnectionError whose message says what to check. A
 * ConnectionError (such as `passwordRequiredError`) passes through unchanged.
 */
export function connectionErrorFrom(
  err: unknown,
  redactedUrl: string,
  context: CredentialContext = {},
): ConnectionError {
  if (err instanceof ConnectionError) return err;
  const e = (err ?? {}) as PgLikeError;
  const raw = redactSecrets(String(e.message ?? err));
  const code = e.code ?? "";
  const theUrl = urlFrom(context);
  let what: string;
  let next: string;
  const known = CONNECTION_SQLSTATES[code];
  if (known !== undefined) {
    what = `${known.said.test(raw) ? raw : `${known.label}: ${raw}`} (${code})`;
    next =
      code === "3D000"
        ? `create it or fix the database name in ${theUrl}`
        : code === "28P01" || code === "28000"
          ? credentialsHint(context)
          : "try again in a moment";
  } else if (code === "ECONNREFUSED") {
    what = "connection refused";
    next = "is PostgreSQL running and listening on that host and port?";
  } else if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    what = `unknown host ${e.hostname ?? ""}`.trim();
    next = `check the host name in ${theUrl}`;
  } else if (code === "ETIMEDOUT" || /timeout/i.test(raw)) {
    what = "connection timed out";
    next = "check the host, port and any firewall between here and the server";
  } else {
    what = raw;
    next = `check ${theUrl}`;
  }
  return new ConnectionError(`cannot connect to ${redactedUrl}: ${what}; ${next}`, "CONNECTION_FAILED", {
    details: { sqlstate: /^[0-9A-Z]{5}$/.test(code) ? code : undefined, cause: code || undefined },
  });
}

/**
 * The server asked for a password and none was given (not in the URL, not in PGPASSWORD, not in
 * the password file): say so, and the three ways to give one.
 */
export function passwordRequiredError(
  redactedUrl: string,
  user: string,
  context: CredentialContext,
  passFile: { file: string; label: string; none?: string | undefined },
): ConnectionError {
  const file =
    passFile.none === undefined || passFile.none === "absent"
      ? " (chmod 600)"
      : passFile.none === "no matching line"
        ? " (it has none for this server, database and user)"
        : `; ${passFile.file} is ${passFile.none}`;
  return new ConnectionError(
    `cannot connect to ${redactedUrl}: the server requires a password for user "${user}" and no password was given; ` +
      `put it in ${urlFrom(context)} (${user}:PASSWORD@host), set PGPASSWORD, ` +
      `or add a line host:port:database:user:password to ${passFile.label}${file}`,
    "CONNECTION_FAILED",
    { details: { sqlstate: undefined, cause: "NO_PASSWORD" } },
  );
}

/** `the URL from DATABASE_URL`, or `the URL` when its source is unknown. */
function urlFrom(context: CredentialContext): string {
  return context.source === undefined ? "the URL" : `the URL from ${context.source}`;
}

/** What to check after the server refused the login, by where the password came from. */
function credentialsHint(context: CredentialContext): string {
  const origin = context.password;
  switch (origin?.from) {
    case "PGPASSWORD":
      return `the password came from PGPASSWORD (${urlFrom(context)} has none): check it and the user name`;
    case "file":
      return `the password came from line ${origin.line} of ${origin.file}: check it and the user name in ${urlFrom(context)}`;
    case "parameters":
      return "check the user and password";
    default:
      return `check the user and password in ${urlFrom(context)}`;
  }
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
