/**
 * The one place secrets are hidden. Every message, output, log, report, event and JSON document
 * passes through `redactText` (or `redactDeep` for structured values); `redactUrl` is for a single
 * connection string. When in doubt these hide too much, never too little.
 *
 * Linear time, whatever the input. A server error can quote 150,000 characters back, a value in
 * confiture.yaml can be a megabyte, and they are redacted while the process may hold the
 * migration lock: a blocked event loop cannot even answer SIGTERM. So there are no backtracking
 * regular expressions here. Each pass is a hand-written left-to-right scan that looks at every
 * character a bounded number of times; where a pass looks back or ahead, what it looks at is never
 * looked at again by the same pass (the comment at each loop says why). The only regular
 * expressions are literals without quantifiers (`/password/gi`, a dollar-quote tag of at most
 * 66 characters), which cost at most their length in comparisons per start position.
 *
 * Two stages. The first recognises exactly what the regular expressions of earlier versions did
 * (the tests pin that down), except that a literal never closed is hidden up to the end. The
 * second runs on the first one's output and only ever hides more: a URL password with spaces is
 * hidden up to the line's last `@`, `E'...'` and `$tag1$...$tag1$` literals, and what is left
 * of a value the first stage cut short. Hiding more in the first stage instead would be unsafe:
 * a value taken to end later can swallow the `password` word of the next secret and end on its
 * opening quote, leaving that secret in clear.
 */
import { applyEdits, HIDDEN, HIDDEN_LITERAL, mapPositions } from "./edits.js";
import { passwordPairEdits, sqlPasswordEdits } from "./password-passes.js";
import { lastAtOnLineEdits, spacedUserinfoEdits, urlTokenEdits, wholeUrlEdits } from "./url-passes.js";

/**
 * The URL with its password replaced by `***`; a URL without a password is returned unchanged.
 * Never throws, whatever the input.
 * @example redactUrl("postgres://app:s3cret@db/prod") // "postgres://app:***@db/prod"
 */
export function redactUrl(url: string): string {
  try {
    if (typeof url !== "string") return "";
    let text = applyEdits(url, wholeUrlEdits(url));
    text = applyEdits(text, passwordPairEdits(text));
    return applyEdits(text, passwordPairEdits(text));
  } catch {
    // Better to show nothing than a password.
    return HIDDEN;
  }
}

/**
 * Text with every secret replaced by `***`: URL passwords (each URL on its own; a password with
 * spaces or quotes, which ends the URL token early, is hidden up to the last `@` on the line),
 * `password=` pairs of keyword/value conninfo and query strings, and SQL password literals
 * (`PASSWORD '***'`, as in a lock holder's current query). Linear in the length of `text`.
 * @example redactText("psql postgres://a:pw@h/db -c 'select 1'") // "psql postgres://a:***@h/db -c 'select 1'"
 */
export function redactText(text: string): string {
  try {
    if (typeof text !== "string") return HIDDEN;
    // First stage: what earlier versions hid, in the same order.
    let t = applyEdits(text, urlTokenEdits(text));
    const spaced = spacedUserinfoEdits(t);
    let ends = mapPositions(spaced.ends, spaced.edits);
    t = applyEdits(t, spaced.edits);
    const pairs = passwordPairEdits(t);
    ends = mapPositions(ends, pairs);
    t = applyEdits(t, pairs);
    const literals = sqlPasswordEdits(t, false);
    ends = mapPositions(ends, literals);
    t = applyEdits(t, literals);
    // Second stage: on text already redacted, so it can only hide more.
    t = applyEdits(t, lastAtOnLineEdits(t, ends));
    t = applyEdits(t, passwordPairEdits(t));
    return applyEdits(t, sqlPasswordEdits(t, true));
  } catch {
    return HIDDEN;
  }
}

/** Passwords this process knows (the configured URL's, a password file's), in every form a text may carry. */
const knownSecrets = new Set<string>();

/** Shorter secrets are not searched for in text: hiding every `ab` would garble output, not protect it. */
const MIN_KNOWN_SECRET = 4;

/**
 * Tell redaction about a password this process uses, so that `redactUntrusted` hides it wherever
 * it appears, even where no pattern would see it (a script printing it bare, a title typed with
 * it): as given, percent-encoded, and percent-decoded.
 * @example hideSecret(new URL(url).password)
 */
export function hideSecret(secret: string | undefined): void {
  if (secret === undefined || secret.length < MIN_KNOWN_SECRET) return;
  const forms = [secret, encodeURIComponent(secret)];
  try {
    forms.push(decodeURIComponent(secret));
  } catch {
    // Not percent-encoded text: the other forms cover it.
  }
  for (const f of forms) if (f.length >= MIN_KNOWN_SECRET) knownSecrets.add(f);
}

/**
 * Text from outside Confiture (a smoke command's output, a title or message a person typed):
 * `redactText`, and every password this process knows hidden wherever it appears, bare or
 * percent-encoded. Not applied to Confiture's own messages, where a common password (`postgres`)
 * would otherwise turn every `postgres://` into `***://`.
 * @example redactUntrusted(smokeOutput)
 */
export function redactUntrusted(text: string): string {
  return hideKnown(redactText(text));
}

function hideKnown(text: string): string {
  let out = text;
  // Longest first, so a secret that contains another is hidden whole.
  for (const s of [...knownSecrets].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(HIDDEN);
  }
  return out;
}

/**
 * At most `max` characters of text that has ALREADY been redacted (never cut a text before
 * redacting it: the cut can remove the quote or `@` that tells where a secret ends). The cut
 * never falls inside a `'***'` marker, where it would leave what looks like an unterminated
 * literal (which a later redaction would hide up to the end of everything printed after it),
 * nor between the halves of a surrogate pair. Returns the text unchanged when it is short enough.
 * @example clipRedacted("alter role x password '***' valid until 'infinity'", 25) // "alter role x password '***'"
 */
export function clipRedacted(redacted: string, max: number): string {
  if (redacted.length <= max) return redacted;
  let end = Math.max(0, max);
  // A marker that starts within the last few kept characters and runs past the cut is kept whole.
  const marker = redacted.indexOf(HIDDEN_LITERAL, Math.max(0, end - (HIDDEN_LITERAL.length - 1)));
  if (marker !== -1 && marker < end && marker + HIDDEN_LITERAL.length > end) {
    end = marker + HIDDEN_LITERAL.length;
  }
  const last = redacted.charCodeAt(end - 1);
  if (end < redacted.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return redacted.slice(0, end);
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
