/** Character classes of the redaction scanners: ASCII, as the regular expressions they replace. */

export const code = (c: string): number => c.charCodeAt(0);
export const AT = code("@");
export const COLON = code(":");
export const SLASH = code("/");
export const QUESTION = code("?");
export const HASH = code("#");
export const AMPERSAND = code("&");
export const SEMICOLON = code(";");
export const EQUALS = code("=");
export const SINGLE_QUOTE = code("'");
export const DOUBLE_QUOTE = code('"');
export const BACKTICK = code("`");
export const BACKSLASH = code("\\");
export const DOLLAR = code("$");
export const NEWLINE = code("\n");

export function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** `\w` of a JavaScript regular expression without the u flag: what `\b` looks at. */
export function isWordChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 0x5f;
}

/** `[a-z0-9+.-]` with the i flag: the characters of a URL scheme after its first letter. */
export function isSchemeChar(c: number): boolean {
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
export function isLineTerminator(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

/** What ends a URL inside free text: whitespace and quotes. */
export function endsUrlToken(c: number): boolean {
  return isJsWhitespace(c) || c === SINGLE_QUOTE || c === DOUBLE_QUOTE || c === BACKTICK;
}
