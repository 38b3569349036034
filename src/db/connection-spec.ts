/**
 * What it takes to open a session, and nothing else: where the server is, who we are, how long
 * to wait. Every connection (the configured database, a restore target, a scratch database,
 * the blue-green copy, an embedded server) is described this way; db/ never sees the config.
 */
import { displayUrl } from "../redact/index.js";

export interface ConnectionSpec {
  /** A `postgres://` URL. Either this or the discrete parameters below. */
  connectionString?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  user?: string | undefined;
  /** Never shown: messages name the target through `describeTarget`. */
  password?: string | undefined;
  database?: string | undefined;
  /** Visible in pg_stat_activity, e.g. `confiture: migrate up`. Cut to 63 bytes by the server. */
  applicationName: string;
  /** Milliseconds to wait for the TCP connection and authentication. Default 10 s. */
  connectTimeoutMs?: number | undefined;
  /**
   * Milliseconds to wait for the answer to one of Confiture's own queries (`Session.query`)
   * before the connection is treated as lost. Migration statements (`exec`, `execBatch`) are
   * never bounded by it. Default: no bound.
   */
  queryTimeoutMs?: number | undefined;
  /**
   * The managed schema: when set and not `public`, the session's search_path is
   * `<schema>, public`, so unqualified names land there and extensions in public stay reachable.
   */
  schema?: string | undefined;
  /**
   * The database name to look libpq's password file up with, when it is not `database` itself:
   * a scratch database borrows the configured database's line (its name is random).
   */
  passFileDatabase?: string | undefined;
  /**
   * Where the URL came from, for messages that tell the user what to fix: `--database-url`,
   * `DATABASE_URL`, `database_url in confiture.yaml`, ... Unset: messages say "the URL".
   */
  source?: string | undefined;
}

/**
 * How messages name a connection: the URL rebuilt without its password, or `user@host:port/db`.
 * @example describeTarget({ connectionString: "postgres://a:pw@h/db", applicationName: "x" }) // "postgres://a:***@h/db"
 */
export function describeTarget(spec: ConnectionSpec): string {
  if (spec.connectionString !== undefined) return displayUrl(spec.connectionString);
  const user = spec.user ? `${spec.user}${spec.password ? ":***" : ""}@` : "";
  const port = spec.port === undefined ? "" : `:${spec.port}`;
  return `postgres://${user}${spec.host ?? "localhost"}${port}/${spec.database ?? ""}`;
}

/**
 * The same server and credentials, another database: a scratch database created next to the
 * configured one. A URL gets its path replaced (query parameters such as `host=` are kept).
 *
 * @example onDatabase(spec, "confiture_scratch_1").connectionString // "postgres://a:pw@h/confiture_scratch_1"
 */
export function onDatabase(spec: ConnectionSpec, database: string, applicationName?: string): ConnectionSpec {
  const named = { ...spec, applicationName: applicationName ?? spec.applicationName };
  if (spec.connectionString === undefined)
    return { ...named, database, passFileDatabase: spec.passFileDatabase ?? spec.database };
  const url = new URL(spec.connectionString);
  const original = decodeURIComponent(url.pathname.slice(1)) || url.username || undefined;
  named.passFileDatabase = spec.passFileDatabase ?? original;
  url.pathname = `/${encodeURIComponent(database)}`;
  url.searchParams.delete("dbname");
  return { ...named, connectionString: url.toString(), database: undefined };
}
