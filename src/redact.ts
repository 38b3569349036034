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

/** The redacted form of a value. */
const HIDDEN = "***";
/** The redacted form of an SQL password literal. */
const HIDDEN_LITERAL = "'***'";

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

// --- edits ---------------------------------------------------------------------------------------

/** Replace `text[from, to)` with `by`. A pass returns its edits sorted and not overlapping. */
interface Edit {
  from: number;
  to: number;
  by: string;
}

function applyEdits(text: string, edits: readonly Edit[]): string {
  if (edits.length === 0) return text;
  const parts: string[] = [];
  let copied = 0;
  for (const e of edits) {
    parts.push(text.slice(copied, e.from), e.by);
    copied = e.to;
  }
  parts.push(text.slice(copied));
  return parts.join("");
}

/**
 * Where the characters at `positions` (ascending) are once `edits` are applied; -1 for one an
 * edit replaces. One merge over both lists.
 */
function mapPositions(positions: readonly number[], edits: readonly Edit[]): number[] {
  const mapped: number[] = [];
  let shift = 0;
  let e = 0;
  for (const p of positions) {
    while (e < edits.length && edits[e]!.to <= p) {
      shift += edits[e]!.by.length - (edits[e]!.to - edits[e]!.from);
      e++;
    }
    if (p < 0 || (e < edits.length && edits[e]!.from <= p)) mapped.push(-1);
    else mapped.push(p + shift);
  }
  return mapped;
}

// --- character classes (ASCII, as the regular expressions these scanners replace) ----------------

const code = (c: string): number => c.charCodeAt(0);
const AT = code("@");
const COLON = code(":");
const SLASH = code("/");
const QUESTION = code("?");
const HASH = code("#");
const AMPERSAND = code("&");
const SEMICOLON = code(";");
const EQUALS = code("=");
const SINGLE_QUOTE = code("'");
const DOUBLE_QUOTE = code('"');
const BACKTICK = code("`");
const BACKSLASH = code("\\");
const DOLLAR = code("$");
const NEWLINE = code("\n");

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** `\w` of a JavaScript regular expression without the u flag: what `\b` looks at. */
function isWordChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 0x5f;
}

/** `[a-z0-9+.-]` with the i flag: the characters of a URL scheme after its first letter. */
function isSchemeChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 0x2b || c === 0x2e || c === 0x2d;
}

/** `\s` of a JavaScript regular expression (compared with it in test/unit/redaction.test.ts). */
export function isJsWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** What `.` of a JavaScript regular expression does not match. */
function isLineTerminator(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

/** What ends a URL inside free text: whitespace and quotes. */
function endsUrlToken(c: number): boolean {
  return isJsWhitespace(c) || c === SINGLE_QUOTE || c === DOUBLE_QUOTE || c === BACKTICK;
}

// --- URLs --------------------------------------------------------------------------------------

/**
 * Libpq query parameters whose value may well contain `@` (`?application_name=me@laptop`),
 * which a password is very unlikely to look like: an `@` inside one of them does not end the
 * userinfo.
 */
const AT_TOLERANT_PARAMETERS = [
  "user=",
  "application_name=",
  "fallback_application_name=",
  "options=",
  "service=",
  "target_session_attrs=",
  "sslmode=",
];

/**
 * The password of the URL whose userinfo starts at `start` (right after `scheme://`), looking
 * at `text[start, end)` only, as an edit; undefined when it has none.
 *
 * Passwords are not always percent-encoded and may contain `@`, `/`, `?` or `#`, so the userinfo
 * is taken to end at the LAST `@`: when in doubt this hides too much, never too little. The one
 * exception is an `@` inside a value of AT_TOLERANT_PARAMETERS, i.e. after `?name=` or `&name=`
 * with no `&` in between. One forward pass over the range, then one over the userinfo.
 */
function passwordEdit(text: string, start: number, end: number): Edit | undefined {
  // `tolerantFrom`: from this index on, an `@` is inside a tolerant parameter's value.
  let tolerantFrom = Number.POSITIVE_INFINITY;
  let at = -1;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === AT) {
      if (i < tolerantFrom) at = i;
    } else if (c === AMPERSAND || c === QUESTION) {
      // `&` ends the previous parameter; `?` may start one inside a value (`options=?user=x`).
      if (c === AMPERSAND) tolerantFrom = Number.POSITIVE_INFINITY;
      for (const name of AT_TOLERANT_PARAMETERS) {
        if (text.startsWith(name, i + 1)) {
          tolerantFrom = Math.min(tolerantFrom, i + 1 + name.length);
          break;
        }
      }
    }
  }
  if (at === -1) return undefined;
  // The first `:` of the userinfo ends the user name; a user name with / ? or # means the @
  // belonged to the path or query, not to userinfo.
  for (let i = start; i < at; i++) {
    const c = text.charCodeAt(i);
    if (c === COLON) return { from: i + 1, to: at, by: HIDDEN };
    if (c === SLASH || c === QUESTION || c === HASH) return undefined;
  }
  return undefined;
}

/** The password of `url`, when it starts with `scheme://`. */
function wholeUrlEdits(url: string): Edit[] {
  if (!isLetter(url.charCodeAt(0))) return [];
  let i = 1;
  while (i < url.length && isSchemeChar(url.charCodeAt(i))) i++;
  if (!url.startsWith("://", i)) return [];
  const edit = passwordEdit(url, i + 3, url.length);
  return edit === undefined ? [] : [edit];
}

/**
 * Does a URL scheme end at `sep` (the index of `://`), starting no earlier than `floor`? That is,
 * do the scheme characters right before `sep` include a letter (`[a-z][a-z0-9+.-]*://`)?
 * Looks back over scheme characters only, which `:` and `/` are not, so the stretches looked at
 * for successive separators never overlap.
 */
function schemeEndsAt(text: string, sep: number, floor: number): boolean {
  for (let i = sep - 1; i >= floor; i--) {
    const c = text.charCodeAt(i);
    if (!isSchemeChar(c)) return false;
    if (isLetter(c)) return true;
  }
  return false;
}

/**
 * The password of every URL token (`scheme://` then up to whitespace or a quote), the userinfo
 * ending at the token's last `@` (see passwordEdit). Tokens do not overlap and each is scanned
 * once, plus once more up to its last `@`.
 */
function urlTokenEdits(text: string): Edit[] {
  const edits: Edit[] = [];
  let floor = 0; // where the last token ended: a scheme cannot start before
  let from = 0;
  for (;;) {
    const sep = text.indexOf("://", from);
    if (sep === -1) break;
    const start = sep + 3;
    if (!schemeEndsAt(text, sep, floor) || start >= text.length || endsUrlToken(text.charCodeAt(start))) {
      from = sep + 1;
      continue;
    }
    let end = start;
    while (end < text.length && !endsUrlToken(text.charCodeAt(end))) end++;
    const edit = passwordEdit(text, start, end);
    if (edit !== undefined) edits.push(edit);
    floor = from = end;
  }
  return edits;
}

/** `[^:/?#@\s'"`]`: what a URL's user name is made of in `scheme://user:password with spaces@`. */
function isPlainUserChar(c: number): boolean {
  return !(c === COLON || c === SLASH || c === QUESTION || c === HASH || c === AT || endsUrlToken(c));
}

/**
 * `scheme://user:` whose password urlTokenEdits did not hide, because a space or a quote in it
 * ended the token early (`postgres://u:leak me 'now'@h/db`): everything from the colon up to the
 * next `@` on the same line. `ends` are the indexes of those `@`, for lastAtOnLineEdits. Each
 * user name is scanned once (the scan stops at the `:` of the next `://`); the search for the
 * `@` is shared by every colon of a line, as each searched stretch ends at an `@` that is
 * consumed or at the line's end.
 */
function spacedUserinfoEdits(text: string): { edits: Edit[]; ends: number[] } {
  const edits: Edit[] = [];
  const ends: number[] = [];
  let floor = 0; // where the last match ended
  let from = 0;
  // The first `@` or newline at or after `stopFrom` (text.length when none), searched lazily.
  let stopFrom = -1;
  let stop = -1;
  for (;;) {
    const sep = text.indexOf("://", from);
    if (sep === -1) break;
    let colon = sep + 3;
    while (colon < text.length && isPlainUserChar(text.charCodeAt(colon))) colon++;
    from = sep + 1;
    if (
      !schemeEndsAt(text, sep, floor) ||
      text.charCodeAt(colon) !== COLON ||
      text.startsWith(`${HIDDEN}@`, colon + 1)
    ) {
      continue;
    }
    if (stop <= colon) {
      stopFrom = Math.max(stopFrom, colon + 1);
      stop = stopFrom;
      while (stop < text.length && text.charCodeAt(stop) !== AT && text.charCodeAt(stop) !== NEWLINE) stop++;
      stopFrom = stop;
    }
    if (stop >= text.length || text.charCodeAt(stop) !== AT) continue;
    edits.push({ from: colon + 1, to: stop, by: HIDDEN });
    ends.push(stop);
    floor = from = stop + 1;
  }
  return { edits, ends };
}

/**
 * Second stage: a password that had spaces or quotes (its `@` at one of `ats`, all past a
 * `***`) may also contain `@`; what lies between it and the last `@` of its line is hidden too.
 * Each line is scanned once.
 */
function lastAtOnLineEdits(text: string, ats: readonly number[]): Edit[] {
  const edits: Edit[] = [];
  let lineEnd = -1;
  let lastAt = -1;
  let hiddenUpTo = -1;
  for (const at of ats) {
    if (at < 0 || at < hiddenUpTo) continue;
    if (at > lineEnd) {
      lastAt = -1;
      for (lineEnd = at; lineEnd < text.length; lineEnd++) {
        const c = text.charCodeAt(lineEnd);
        if (c === NEWLINE) break;
        if (c === AT) lastAt = lineEnd;
      }
    }
    if (lastAt > at) {
      edits.push({ from: at, to: lastAt, by: "" });
      hiddenUpTo = lastAt;
    }
  }
  return edits;
}

// --- password=value ------------------------------------------------------------------------------

/** A literal with no quantifier: at most 8 comparisons per start position. */
const PASSWORD_WORD = /password/gi;

/** The next index at or after `from` where `password` starts, in any letter case; -1 if none. */
function nextPasswordWord(text: string, from: number): number {
  PASSWORD_WORD.lastIndex = from;
  return PASSWORD_WORD.exec(text)?.index ?? -1;
}

/**
 * The end of a conninfo value quoted with the quote at `open`: backslash escapes any character
 * but a line terminator; the value ends after the closing quote, or where it cannot go on (the
 * end of the text, a backslash before a line break).
 */
function conninfoQuotedEnd(text: string, open: number): number {
  const quote = text.charCodeAt(open);
  let i = open + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === quote) return i + 1;
    if (c === BACKSLASH) {
      if (i + 1 >= text.length || isLineTerminator(text.charCodeAt(i + 1))) return i;
      i += 2;
    } else {
      i++;
    }
  }
  return text.length;
}

/**
 * `password=value` of keyword/value conninfo (`password = 'it\'s'`, `password=s3cret`) and of
 * query strings (`?password=s3cret&...`): the value becomes `***`. An unquoted value ends at
 * whitespace, `&` or `;`. The whitespace runs scanned after a `password` that turns out not to be
 * followed by a value cannot contain the next `password`, so nothing is scanned twice.
 */
function passwordPairEdits(text: string): Edit[] {
  const edits: Edit[] = [];
  let from = 0;
  for (let word = nextPasswordWord(text, 0); word !== -1; word = nextPasswordWord(text, from)) {
    from = word + 1;
    let i = word + "password".length;
    while (i < text.length && isJsWhitespace(text.charCodeAt(i))) i++;
    if (text.charCodeAt(i) !== EQUALS) continue;
    i++;
    while (i < text.length && isJsWhitespace(text.charCodeAt(i))) i++;
    const c = text.charCodeAt(i);
    let end: number;
    if (c === SINGLE_QUOTE || c === DOUBLE_QUOTE) {
      end = conninfoQuotedEnd(text, i);
    } else {
      end = i;
      while (end < text.length) {
        const v = text.charCodeAt(end);
        if (isJsWhitespace(v) || v === AMPERSAND || v === SEMICOLON) break;
        end++;
      }
      if (end === i) continue;
    }
    edits.push({ from: i, to: end, by: HIDDEN });
    from = end;
  }
  return edits;
}

// --- PASSWORD 'literal' --------------------------------------------------------------------------

/**
 * The end of an SQL string whose opening quote is at `open`: after its closing quote, or the end
 * of the text when it is never closed. A doubled quote is a quote; with `backslashEscapes`
 * (`E'...'`), so is a quote after a backslash.
 */
function sqlQuotedEnd(text: string, open: number, backslashEscapes: boolean): number {
  let i = open + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH && backslashEscapes) {
      i += 2;
    } else if (c === SINGLE_QUOTE) {
      if (text.charCodeAt(i + 1) !== SINGLE_QUOTE) return i + 1;
      i += 2;
    } else {
      i++;
    }
  }
  return text.length;
}

/** Dollar-quote tags longer than this are not looked for: hidden up to the end instead. */
const MAX_DOLLAR_TAG = 64;

/** Characters of a dollar-quote tag: PostgreSQL's (any non-ASCII character too), or `[a-z_]`. */
function isTagChar(c: number, first: boolean, postgres: boolean): boolean {
  if (!postgres) return isLetter(c) || c === 0x5f;
  return isLetter(c) || c === 0x5f || c >= 0x80 || (!first && isDigit(c));
}

/**
 * The end of the SQL string constant starting at `i`, or undefined when none starts there
 * (`PASSWORD NULL`, `PASSWORD $1`). A string never closed ends at the end of the text.
 *
 * First stage (`extended` false): `'...'` and `$tag$...$tag$` with a `[a-z_]*` tag closed in any
 * letter case, as before. Second stage: also `E'...'`, `U&'...'`, a `'...'` read with backslash
 * escapes when that makes it longer (standard_conforming_strings off), and PostgreSQL's tags
 * (digits, non-ASCII), closed by the same tag exactly.
 *
 * A tag is at most 66 characters with its `$`s, so searching for the closing one costs at most
 * 66 comparisons per position passed over, and what it passes over is hidden, never scanned
 * again; when it is not found, everything up to the end is hidden and the pass is over.
 */
function sqlStringEnd(text: string, i: number, extended: boolean): number | undefined {
  const c = text.charCodeAt(i);
  if (c === SINGLE_QUOTE) {
    const standard = sqlQuotedEnd(text, i, false);
    return extended ? Math.max(standard, sqlQuotedEnd(text, i, true)) : standard;
  }
  if (extended && (c === 0x45 || c === 0x65) && text.charCodeAt(i + 1) === SINGLE_QUOTE) {
    return sqlQuotedEnd(text, i + 1, true);
  }
  if (extended && (c === 0x55 || c === 0x75) && text.startsWith("&'", i + 1)) {
    return sqlQuotedEnd(text, i + 2, false);
  }
  if (c !== DOLLAR) return undefined;
  let j = i + 1;
  while (
    j < text.length &&
    j - i <= MAX_DOLLAR_TAG + 1 &&
    isTagChar(text.charCodeAt(j), j === i + 1, extended)
  ) {
    j++;
  }
  if (j - i > MAX_DOLLAR_TAG + 1) return text.length;
  if (text.charCodeAt(j) !== DOLLAR) return undefined;
  const tag = text.slice(i, j + 1);
  let close: number;
  if (extended) {
    close = text.indexOf(tag, j + 1);
  } else {
    // `$` is the only character of the tag that needs escaping.
    const closing = new RegExp(tag.replaceAll("$", "\\$"), "gi");
    closing.lastIndex = j + 1;
    close = closing.exec(text)?.index ?? -1;
  }
  return close === -1 ? text.length : close + tag.length;
}

/**
 * SQL password literals: `PASSWORD 's3cret'`, `ENCRYPTED PASSWORD 'it''s'`, `PASSWORD $p$...$p$`
 * (and in the second stage `PASSWORD E'...'`), as in a lock holder's current query or a server
 * message quoting SQL: the literal becomes `'***'`. One never closed (a query cut short, by
 * PostgreSQL's track_activity_query_size or by anyone) is hidden up to the end of the text.
 * The whitespace run after a `password` that is not followed by a literal cannot contain the
 * next `password`, and a dollar tag looked at is at most 65 characters long.
 */
function sqlPasswordEdits(text: string, extended: boolean): Edit[] {
  const edits: Edit[] = [];
  let from = 0;
  for (let word = nextPasswordWord(text, 0); word !== -1; word = nextPasswordWord(text, from)) {
    from = word + 1;
    if (word > 0 && isWordChar(text.charCodeAt(word - 1))) continue;
    let i = word + "password".length;
    if (i >= text.length || !isJsWhitespace(text.charCodeAt(i))) continue;
    while (i < text.length && isJsWhitespace(text.charCodeAt(i))) i++;
    const end = sqlStringEnd(text, i, extended);
    if (end === undefined) continue;
    edits.push({ from: i, to: end, by: HIDDEN_LITERAL });
    from = end;
  }
  return edits;
}
