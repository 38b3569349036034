/**
 * A connection turned into libpq's environment variables, so PostgreSQL's programs get the
 * password through their environment (readable only by the same user) and never through argv
 * (readable by everyone in `ps`). Parts the connection leaves out fall back to whatever PG*
 * variables the caller's environment already has, exactly as libpq and `pg` both do.
 */
import { UsageError } from "../errors.js";
import { redactText } from "../redact/index.js";

/** Connection parts given one by one instead of as a URL. `params` are URL query parameters. */
export interface ToolConnectionParts {
  host?: string;
  port?: number | string;
  user?: string;
  password?: string;
  database?: string;
  /** libpq parameters by their URL name, e.g. `{ sslmode: "require", application_name: "confiture" }`. */
  params?: Record<string, string>;
}

/** A `postgres://` / `postgresql://` URL, or its parts. */
export type ToolConnection = string | ToolConnectionParts;

/**
 * URL query parameters libpq understands that have an environment variable. A parameter
 * without one (sslpassword, keepalives, ...) cannot be passed without argv, so it is refused.
 */
const PARAMETER_ENV: Readonly<Record<string, string>> = {
  host: "PGHOST",
  hostaddr: "PGHOSTADDR",
  port: "PGPORT",
  user: "PGUSER",
  password: "PGPASSWORD",
  dbname: "PGDATABASE",
  passfile: "PGPASSFILE",
  service: "PGSERVICE",
  sslmode: "PGSSLMODE",
  sslrootcert: "PGSSLROOTCERT",
  sslcert: "PGSSLCERT",
  sslkey: "PGSSLKEY",
  sslcrl: "PGSSLCRL",
  gssencmode: "PGGSSENCMODE",
  channel_binding: "PGCHANNELBINDING",
  application_name: "PGAPPNAME",
  connect_timeout: "PGCONNECT_TIMEOUT",
  options: "PGOPTIONS",
  target_session_attrs: "PGTARGETSESSIONATTRS",
};

/**
 * The libpq environment variables for `connection` (only the parts it sets).
 * Throws UsageError (code USAGE) for a malformed URL or an unknown query parameter; the
 * message names the parameter, never the URL, because the URL may carry a password.
 * @example connectionEnv("postgres://app:s%40cret@db:5433/prod?sslmode=require")
 * // { PGHOST: "db", PGPORT: "5433", PGUSER: "app", PGPASSWORD: "s@cret", PGDATABASE: "prod", PGSSLMODE: "require" }
 */
export function connectionEnv(connection: ToolConnection): Record<string, string> {
  const parts = typeof connection === "string" ? partsOfUrl(connection) : connection;
  const env: Record<string, string> = {};
  const set = (name: string, value: string | number | undefined): void => {
    // An empty part means "not given" (postgres:///db has no host): let libpq's defaults apply.
    if (value !== undefined && String(value) !== "") env[name] = String(value);
  };
  set("PGHOST", parts.host);
  set("PGPORT", parts.port);
  set("PGUSER", parts.user);
  set("PGPASSWORD", parts.password);
  set("PGDATABASE", parts.database);
  for (const [key, value] of Object.entries(parts.params ?? {})) {
    const name = PARAMETER_ENV[key];
    if (name === undefined) throw unknownParameter(key);
    set(name, value);
  }
  return env;
}

/** The parts of a URL, percent-decoded, following the same WHATWG parsing `pg` uses. */
function partsOfUrl(url: string): ToolConnectionParts {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(
      "the connection for a PostgreSQL program is not a valid URL (percent-encode special characters in the password)",
    );
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new UsageError(
      `the connection for a PostgreSQL program must be a postgres:// URL, not ${JSON.stringify(u.protocol.slice(0, 20))}`,
    );
  }
  const params: Record<string, string> = {};
  for (const [key, value] of u.searchParams) params[key] = value;
  return {
    // [::1] is how a URL writes an IPv6 address; libpq wants it bare. %2F-encoded socket dirs decode to paths.
    host: decode(u.hostname.replace(/^\[(.*)\]$/, "$1"), "host"),
    port: u.port,
    user: decode(u.username, "user name"),
    password: decode(u.password, "password"),
    database: decode(u.pathname.replace(/^\//, ""), "database name"),
    params,
  };
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UsageError(`the ${what} in the connection URL has a malformed %-escape`);
  }
}

function unknownParameter(key: string): UsageError {
  // The key comes from the URL too, but a query key is not where passwords live; keep it short anyway.
  const shown = JSON.stringify(key.slice(0, 40));
  const hint =
    key === "ssl"
      ? "; libpq's programs spell it sslmode=require"
      : `; the ones that can be passed are ${Object.keys(PARAMETER_ENV).join(", ")}`;
  return new UsageError(
    `the connection URL has the query parameter ${shown}, which PostgreSQL's programs cannot be given through the environment${hint}`,
  );
}

/**
 * Throw UsageError when an argument carries a password (a URL with one, `password=`, a SQL
 * PASSWORD literal, or the connection's own password): argv is readable by everyone through
 * `ps`, so the connection must come through the environment. The message never shows the argument.
 * @example refuseSecretsInArgs("psql", ["-c", "select 1"], env.PGPASSWORD); // fine
 */
export function refuseSecretsInArgs(
  tool: string,
  args: readonly string[],
  password: string | undefined,
): void {
  args.forEach((arg, i) => {
    const hasPassword =
      redactText(arg) !== arg || (password !== undefined && password.length >= 6 && arg.includes(password));
    if (hasPassword) {
      throw new UsageError(
        `argument ${i + 1} of ${tool} carries a password, which anyone could read in the process list; ` +
          "pass the connection through the `connection` option (and SQL that sets a password through `input`)",
      );
    }
  });
}
