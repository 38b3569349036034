/**
 * Keeping passwords out of output: `redactUrl` for one connection string, `redactText` for free
 * text that may embed some, `describeConfig` for `confiture config show`.
 */
import { formatDuration } from "./duration.js";
import type { ConfitureConfig } from "./types.js";

// password=secret in keyword/value conninfo and in ?password= query parameters; quoted
// conninfo values may contain backslash-escaped quotes (password='it\'s').
const PASSWORD_PAIR = /(password\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s&;]+)/gi;

/**
 * The URL with its password replaced by `***`; a URL without a password is returned unchanged.
 * Never throws, whatever the input.
 * @example redactUrl("postgres://app:s3cret@db/prod") // "postgres://app:***@db/prod"
 */
export function redactUrl(url: string): string {
  try {
    if (typeof url !== "string") return "";
    return redactUserinfo(url).replace(PASSWORD_PAIR, "$1***");
  } catch {
    // Better to show nothing than a password.
    return "***";
  }
}

/**
 * Replace the password in `scheme://user:password@host...`. Passwords are not always
 * percent-encoded and may contain `@`, `/`, `?` or `#`, so the userinfo is taken to end at the
 * LAST `@`: when in doubt this hides too much, never too little. The one exception is an `@`
 * inside a well-known libpq query parameter (`?application_name=me@laptop`), which a password
 * is very unlikely to look like.
 */
function redactUserinfo(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (scheme === null) return url;
  const start = scheme[0].length;
  let at = url.lastIndexOf("@");
  while (at >= start && QUERY_PARAMETER_BEFORE_AT.test(url.slice(start, at))) {
    at = url.lastIndexOf("@", at - 1);
  }
  if (at < start) return url;
  const userinfo = url.slice(start, at);
  const colon = userinfo.indexOf(":");
  if (colon === -1) return url;
  // A user name with / ? or # means the @ belonged to the path or query, not to userinfo.
  if (/[/?#]/.test(userinfo.slice(0, colon))) return url;
  return `${url.slice(0, start + colon + 1)}***${url.slice(at)}`;
}

const QUERY_PARAMETER_BEFORE_AT =
  /[?&](?:user|application_name|fallback_application_name|options|service|target_session_attrs|sslmode)=[^&]*$/;

/**
 * Text with every URL password and `password=` value replaced by `***`: for free text such as a
 * smoke command or an error message that may embed a connection string.
 * @example redactText("psql postgres://a:pw@h/db -c 'select 1'") // "psql postgres://a:***@h/db -c 'select 1'"
 */
export function redactText(text: string): string {
  try {
    return text
      .replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"`]+/gi, (url) => redactUserinfo(url))
      .replace(PASSWORD_PAIR, "$1***");
  } catch {
    return "***";
  }
}

/**
 * The effective configuration as a plain snake_case object for `confiture config show`: the
 * same keys as confiture.yaml, durations written as in the file, the URL redacted, plus where the
 * URL came from and which CONFITURE_* variables (names only) were in effect.
 * @example describeConfig(await loadConfig({})).database_url_source // "DATABASE_URL"
 */
export function describeConfig(config: ConfitureConfig): Record<string, unknown> {
  const optionalDuration = (ms: number | undefined) => (ms === undefined ? null : formatDuration(ms));
  const described: Record<string, unknown> = {
    config_file: config.configPath ?? null,
    project_dir: config.projectDir,
    environment: config.environment ?? null,
    protected: config.protected,
    database_url: config.database.url === undefined ? null : redactUrl(config.database.url),
    database_url_source: config.database.source ?? null,
    database_url_error: config.database.error === undefined ? null : config.database.error.message,
    schema: config.schema,
    migrations_dir: config.migrationsDir,
    schema_dir: config.schemaDir,
    tracking_table: config.trackingTable,
    lock_timeout: formatDuration(config.lockTimeoutMs),
    statement_lock_timeout: formatDuration(config.statementLockTimeoutMs),
    backup: {
      dir: config.backup.dir,
      format: config.backup.format,
      compress: config.backup.compress,
      retention_days: config.backup.retentionDays,
    },
    objectives: {
      rpo: optionalDuration(config.objectives.rpoMs),
      rto: optionalDuration(config.objectives.rtoMs),
    },
    blue_green: {
      backup_schema: config.blueGreen.backupSchema,
      failed_schema: config.blueGreen.failedSchema,
    },
    verify: { smoke: [...config.verify.smoke] },
    overrides_in_effect: [...config.overridesInEffect],
  };
  // Smoke commands, paths and error messages are free text that may embed a URL: scrub them all.
  return scrub(described) as Record<string, unknown>;
}

function scrub(value: unknown): unknown {
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return value.map(scrub);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, scrub(inner)]));
  }
  return value;
}
