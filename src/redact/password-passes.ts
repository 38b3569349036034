/** Redaction passes over `password=value` pairs and SQL `PASSWORD 'literal'` forms. */
import {
  AMPERSAND,
  BACKSLASH,
  DOLLAR,
  DOUBLE_QUOTE,
  EQUALS,
  isDigit,
  isJsWhitespace,
  isLetter,
  isLineTerminator,
  isWordChar,
  SEMICOLON,
  SINGLE_QUOTE,
} from "./chars.js";
import { type Edit, HIDDEN, HIDDEN_LITERAL } from "./edits.js";

/** A literal with no quantifier: at most 8 comparisons per start position. */
export const PASSWORD_WORD = /password/gi;

/** The next index at or after `from` where `password` starts, in any letter case; -1 if none. */
export function nextPasswordWord(text: string, from: number): number {
  PASSWORD_WORD.lastIndex = from;
  return PASSWORD_WORD.exec(text)?.index ?? -1;
}

/**
 * The end of a conninfo value quoted with the quote at `open`: backslash escapes any character
 * but a line terminator; the value ends after the closing quote, or where it cannot go on (the
 * end of the text, a backslash before a line break).
 */
export function conninfoQuotedEnd(text: string, open: number): number {
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
export function passwordPairEdits(text: string): Edit[] {
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
export function sqlQuotedEnd(text: string, open: number, backslashEscapes: boolean): number {
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
export const MAX_DOLLAR_TAG = 64;

/** Characters of a dollar-quote tag: PostgreSQL's (any non-ASCII character too), or `[a-z_]`. */
export function isTagChar(c: number, first: boolean, postgres: boolean): boolean {
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
export function sqlStringEnd(text: string, i: number, extended: boolean): number | undefined {
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
export function sqlPasswordEdits(text: string, extended: boolean): Edit[] {
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
