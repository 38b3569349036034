/** Redaction passes over URLs: the password in `scheme://user:password@host`, in a URL alone or in free text. */
import {
  AMPERSAND,
  AT,
  COLON,
  endsUrlToken,
  HASH,
  isLetter,
  isSchemeChar,
  NEWLINE,
  QUESTION,
  SLASH,
} from "./chars.js";
import { type Edit, HIDDEN } from "./edits.js";

/**
 * Libpq query parameters whose value may well contain `@` (`?application_name=me@laptop`),
 * which a password is very unlikely to look like: an `@` inside one of them does not end the
 * userinfo.
 */
export const AT_TOLERANT_PARAMETERS = [
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
export function passwordEdit(text: string, start: number, end: number): Edit | undefined {
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
export function wholeUrlEdits(url: string): Edit[] {
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
export function schemeEndsAt(text: string, sep: number, floor: number): boolean {
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
export function urlTokenEdits(text: string): Edit[] {
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
export function isPlainUserChar(c: number): boolean {
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
export function spacedUserinfoEdits(text: string): { edits: Edit[]; ends: number[] } {
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
export function lastAtOnLineEdits(text: string, ats: readonly number[]): Edit[] {
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
