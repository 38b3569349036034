/**
 * Text that lands in an incident report: one line, no secret, and safe inside a Markdown
 * table cell. What a person typed (title, log message) and what the database said (errors,
 * queries, event fields) all pass through here before they are written.
 */
import { redactUntrusted } from "../redact/index.js";

/**
 * `text` redacted (every password this process knows too, bare or percent-encoded) and made one line: line breaks (CR, LF, U+2028, U+2029) and tabs become a
 * space (runs of them one space), other control characters (C0, DEL, C1) `\xNN`. Redacted
 * before and after: joining lines can make a URL that a line break had cut whole again.
 * @example oneLine("deploy\nfailed for postgres://a:pw@h/db") // "deploy failed for postgres://a:***@h/db"
 */
export function oneLine(text: string): string {
  const redacted = redactUntrusted(text);
  let out = "";
  let space = false;
  for (const ch of redacted) {
    const c = ch.codePointAt(0)!;
    if (c === 0x0a || c === 0x0d || c === 0x09 || c === 0x2028 || c === 0x2029) {
      space = true;
      continue;
    }
    if (space) {
      out += " ";
      space = false;
    }
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? `\\x${c.toString(16).padStart(2, "0")}` : ch;
  }
  return redactUntrusted(out.trim());
}

/**
 * `text` as one Markdown table cell: one line (see `oneLine`) with `|` escaped as `\|`, so it
 * cannot end the cell or start a new column. An empty value becomes `-`.
 * @example cell("a | b") // "a \\| b"
 */
export function cell(text: string | null | undefined): string {
  const line = oneLine(text ?? "");
  return line === "" ? "-" : line.replace(/\|/g, "\\|");
}

/**
 * A table row from cells already made safe with `cell`.
 * @example row(["10:02", "Incident opened"]) // "| 10:02 | Incident opened |"
 */
export function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** A table: header row, separator, rows (each cell made safe here). */
export function markdownTable(headers: string[], rows: Array<Array<string | null | undefined>>): string {
  return [row(headers), row(headers.map(() => "---")), ...rows.map((r) => row(r.map((c) => cell(c))))].join(
    "\n",
  );
}
