/**
 * The one place secrets are hidden. Every message, output, log, report, event and JSON document
 * passes through `redactText` (or `redactDeep` for structured values); `redactUrl` is for a single
 * connection string. When in doubt these hide too much, never too little.
 */

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
 * Text with every secret replaced by `***`: URL passwords (each URL on its own; a password with
 * spaces, which ends the URL token early, is hidden up to the next `@` on the line), `password=`
 * pairs of keyword/value conninfo and query strings, and SQL password literals
 * (`PASSWORD '***'`, as in a lock holder's current query).
 * @example redactText("psql postgres://a:pw@h/db -c 'select 1'") // "psql postgres://a:***@h/db -c 'select 1'"
 */
export function redactText(text: string): string {
  try {
    return text
      .replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"`]+/gi, (url) => redactUserinfo(url))
      .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s'"`]*:)(?!\*\*\*@)([^@\n]*)@/gi, "$1***@")
      .replace(PASSWORD_PAIR, "$1***")
      .replace(/(\bpassword\s+)('(?:[^']|'')*'|\$([a-z_]*)\$[\s\S]*?\$\3\$)/gi, "$1'***'");
  } catch {
    return "***";
  }
}

/**
 * The URL as it may be shown: rebuilt from its parsed parts with the password replaced, so a
 * password that no pattern would recognise (spaces, quotes) still never reaches a message.
 * Query parameters are left out; a text that does not parse as a URL is not echoed at all.
 * @example displayUrl("postgres://app:pw@db:5432/prod?sslmode=require") // "postgres://app:***@db:5432/prod"
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

/** `redactText` applied to every string inside a JSON-like value, before it is serialized. */
export function redactDeep<T>(value: T): T {
  if (typeof value === "string") return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
