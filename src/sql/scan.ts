/**
 * Text positions for the splitter: a small scanner that finds where a statement's tokens start
 * and end (whitespace and comments skipped as PostgreSQL's scanner does), and conversions
 * between UTF-8 byte offsets, code points, JS string indices and 1-based lines.
 */
export const WHITESPACE = new Set([" ", "\t", "\n", "\r", "\f", "\v"]);
const IDENT_START = /[A-Za-z_\u0080-\uFFFF]/;
const IDENT_CONT = /[A-Za-z0-9_$\u0080-\uFFFF]/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*)?\$/y;

/**
 * Start of the first token and end of the last token in `text[from, to)`, skipping
 * whitespace and comments the way PostgreSQL's scanner does. The range was already accepted
 * by the parser, so only the shape of strings, quoted identifiers and comments matters here.
 */
export function tokenBounds(text: string, from: number, to: number): { first: number; end: number } {
  let first = -1;
  let end = from;
  let i = from;
  while (i < to) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (WHITESPACE.has(c)) {
      i += 1;
      continue;
    }
    if (c === "-" && next === "-") {
      while (i < to && text[i] !== "\n" && text[i] !== "\r") i += 1;
      continue;
    }
    if (c === "/" && next === "*") {
      i = skipBlockComment(text, i, to);
      continue;
    }
    const start = i;
    if (c === "'") {
      const escapes = /[eE]/.test(text[i - 1] ?? "") && !IDENT_CONT.test(text[i - 2] ?? "");
      i = skipQuoted(text, i, to, "'", escapes);
    } else if (c === '"') {
      i = skipQuoted(text, i, to, '"', false);
    } else if (c === "$") {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(text)?.[0];
      if (tag !== undefined) {
        const close = text.indexOf(tag, i + tag.length);
        i = close < 0 || close + tag.length > to ? to : close + tag.length;
      } else {
        i += 1; // a parameter such as $1
      }
    } else if (IDENT_START.test(c)) {
      while (i < to && IDENT_CONT.test(text[i] as string)) i += 1;
    } else {
      i += 1;
    }
    if (first < 0) first = start;
    end = i;
  }
  return { first: first < 0 ? from : first, end };
}

function skipBlockComment(text: string, at: number, to: number): number {
  let depth = 0;
  let i = at;
  while (i < to) {
    if (text[i] === "/" && text[i + 1] === "*") {
      depth += 1;
      i += 2;
    } else if (text[i] === "*" && text[i + 1] === "/") {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return to;
}

/** Skips a '...' or "..." token starting at `at`; a doubled quote is an escaped quote. */
function skipQuoted(text: string, at: number, to: number, quote: string, backslashEscapes: boolean): number {
  let i = at + 1;
  while (i < to) {
    const c = text[i];
    if (backslashEscapes && c === "\\") {
      i += 2;
    } else if (c === quote) {
      if (text[i + 1] !== quote) return i + 1;
      i += 2;
    } else {
      i += 1;
    }
  }
  return to;
}

/**
 * Returns a converter from UTF-8 byte offsets to JS string indices. Calls with growing
 * offsets are O(total length); emscripten encodes a lone surrogate as 3 bytes, as here.
 */
export function byteToCharIndexer(text: string): (byte: number) => number {
  let char = 0;
  let bytes = 0;
  return (byte) => {
    if (byte < bytes) {
      char = 0;
      bytes = 0;
    }
    while (bytes < byte && char < text.length) {
      const code = text.codePointAt(char) as number;
      bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      char += code < 0x10000 ? 1 : 2;
    }
    return char;
  };
}

/** JS string index of the `points`-th (0-based) code point. */
export function codePointToCharIndex(text: string, points: number): number {
  let char = 0;
  for (let n = 0; n < points && char < text.length; n += 1) {
    char += (text.codePointAt(char) as number) < 0x10000 ? 1 : 2;
  }
  return char;
}

/** JS index where each line starts; line N (1-based) starts at `starts[N - 1]`. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return starts;
}

export function lineAt(starts: number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
