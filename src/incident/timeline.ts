/**
 * The report's Timeline (UTC) table, and the header lines `incident log` reads: pure text
 * operations on the Markdown, so a report a person has edited still works as long as its
 * `## Timeline` heading and table are there.
 */
import { cell, row } from "./text.js";

/**
 * A timeline time: `HH:MM` (UTC) when `at` falls on `day` (`YYYY-MM-DD`), else `YYYY-MM-DD HH:MM`.
 * @example timelineTime(new Date("2026-11-24T21:40:03Z"), "2026-11-25") // "2026-11-24 21:40"
 */
export function timelineTime(at: Date, day: string): string {
  const iso = at.toISOString();
  const hhmm = iso.slice(11, 16);
  return iso.slice(0, 10) === day ? hhmm : `${iso.slice(0, 10)} ${hhmm}`;
}

/**
 * One timeline row: the time as given, the event made safe for a cell (one line, pipes
 * escaped, secrets hidden).
 * @example timelineRow("10:02", "rolled back 004 | checked") // "| 10:02 | rolled back 004 \\| checked |"
 */
export function timelineRow(time: string, event: string): string {
  return row([time, cell(event)]);
}

/**
 * The value of a `**Label:** value` header line, or undefined when the report has none.
 * @example headerValue("**Status:** Ongoing\n", "Status") // "Ongoing"
 */
export function headerValue(markdown: string, label: string): string | undefined {
  for (const line of markdown.split(/\r?\n/)) {
    const prefix = `**${label}:**`;
    if (line.startsWith(prefix)) return line.slice(prefix.length).trim();
  }
  return undefined;
}

/** True when the report's Status line says Ongoing (what `incident new` writes). */
export function isOngoing(markdown: string): boolean {
  return /^ongoing\b/i.test(headerValue(markdown, "Status") ?? "");
}

/**
 * The report with `newRow` added as the last row of the table under the `## Timeline`
 * heading (not at the end of the file: the evidence appendix follows). When the heading has
 * no table any more, a new one is started under it. Returns undefined when there is no
 * `## Timeline` heading. Line endings follow the file's (CRLF stays CRLF).
 */
export function appendTimelineRow(markdown: string, newRow: string): string | undefined {
  const eol = markdown.includes("\r\n") ? "\r\n" : "\n";
  const lines = markdown.split(/\r?\n/);
  const heading = lines.findIndex((l) => /^##\s+Timeline\b/i.test(l));
  if (heading < 0) return undefined;
  // The section ends at the next heading of level 1 or 2 (or a `---` rule before the sign-off).
  let end = lines.findIndex((l, i) => i > heading && (/^#{1,2}\s/.test(l) || /^---\s*$/.test(l)));
  if (end < 0) end = lines.length;
  const first = lines.findIndex((l, i) => i > heading && i < end && l.trimStart().startsWith("|"));
  if (first < 0) {
    lines.splice(heading + 1, 0, "", row(["Time", "Event"]), row(["---", "---"]), newRow);
    return lines.join(eol);
  }
  let last = first;
  while (last + 1 < end && lines[last + 1]!.trimStart().startsWith("|")) last++;
  lines.splice(last + 1, 0, newRow);
  return lines.join(eol);
}
