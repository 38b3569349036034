/**
 * Everything the CLI writes goes through here: results to stdout (text for people, or exactly
 * one JSON document), progress and warnings to stderr, and every byte passes `redactSecrets`
 * so no password reaches a terminal or a CI log.
 */
import pc from "picocolors";
import {
  type CheckReport,
  type CommandName,
  ConfitureError,
  EXIT_CODES,
  exitCodeFor,
  redactDeep,
  redactSecrets,
} from "../index.js";

/** `--format`: text for people, or one JSON document. */
export type Format = "text" | "json";

/** How output is written, from the global options. */
export interface OutputOptions {
  format: Format;
  quiet: boolean;
  color: boolean;
  debug: boolean;
}

/** Colors that vanish when color is off. */
export interface Paint {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
  cyan(s: string): string;
}

/** What a command produced: its JSON body, its text for people, and the check it ran (if any). */
export interface CommandOutcome {
  /** The JSON document's fields after `ok` and `command`. */
  json: Record<string, unknown>;
  /** The text for people; nothing is printed when it returns undefined or "". */
  text(paint: Paint): string | undefined;
  /** A check's verdict: when not ok, the command fails with exit 3 (see Output.result). */
  report?: CheckReport | undefined;
}

/** The CLI's one writer to stdout and stderr. */
export class Output {
  readonly opts: OutputOptions;
  readonly paint: Paint;
  /** Progress lines only on an interactive terminal, never in CI or quiet mode. */
  readonly progressEnabled: boolean;

  constructor(opts: OutputOptions) {
    this.opts = opts;
    const c = pc.createColors(opts.color);
    this.paint = { green: c.green, red: c.red, yellow: c.yellow, dim: c.dim, bold: c.bold, cyan: c.cyan };
    this.progressEnabled = !opts.quiet && process.stderr.isTTY === true && !process.env.CI;
  }

  /**
   * Print the command's outcome and return its exit code. This is the one place a failing check
   * becomes exit 3: the JSON document then has `ok: false` and an `error` built from the report's
   * failure, like every other failure, so `ok` is true exactly when the exit code is 0.
   */
  result(command: CommandName, outcome: CommandOutcome): number {
    const failure = failureOf(outcome.report);
    const exit = failure ? EXIT_CODES.check : 0;
    if (this.opts.format === "json") {
      const doc = failure
        ? {
            ok: false,
            command,
            ...outcome.json,
            error: { code: failure.code, message: failure.message, exitCode: exit },
          }
        : { ok: true, command, ...outcome.json };
      process.stdout.write(`${JSON.stringify(redactDeep(doc), jsonReplacer, 2)}\n`);
      return exit;
    }
    if (this.opts.quiet) return exit;
    const body = outcome.text(this.paint);
    if (body) process.stdout.write(`${redactSecrets(body)}\n`);
    return exit;
  }

  /**
   * A line of the result printed as it happens (stdout, text mode, not --quiet), so it stays on
   * screen whatever comes later: e.g. each migration applied before a failure. JSON mode keeps
   * its one document, written by `result`.
   */
  line(text: string): void {
    if (this.opts.format === "text" && !this.opts.quiet)
      process.stdout.write(`${redactSecrets(oneLine(text))}\n`);
  }

  /** A transient progress note (stderr, TTY only): one line. */
  progress(message: string): void {
    if (this.progressEnabled) process.stderr.write(`${redactSecrets(this.paint.dim(oneLine(message)))}\n`);
  }

  /** A fact the user should see before the result (stderr, unless --quiet): one line. */
  note(message: string): void {
    if (!this.opts.quiet) process.stderr.write(`${redactSecrets(oneLine(message))}\n`);
  }

  /** Something the user should know that is not a failure (stderr, unless --quiet): one line. */
  warn(message: string): void {
    if (!this.opts.quiet)
      process.stderr.write(`${redactSecrets(`${this.paint.yellow("warning:")} ${oneLine(message)}`)}\n`);
  }

  /** Report an error: one line on stderr (JSON document on stdout with --format json). Returns the exit code. */
  error(err: unknown, command: string | undefined, exitOverride?: number): number {
    const known = err instanceof ConfitureError;
    const code = known ? err.code : "INTERNAL_ERROR";
    let message = err instanceof Error ? err.message : String(err);
    if (!known)
      message = `internal error: ${message}${this.opts.debug ? "" : " (run with --debug for the stack trace)"}`;
    const exit = exitOverride ?? (known ? exitCodeFor(err.category) : 1);
    if (this.opts.format === "json") {
      const error: Record<string, unknown> = { code, message, exitCode: exit };
      if (known && err.details) error.details = err.details;
      process.stdout.write(
        `${JSON.stringify(redactDeep({ ok: false, command: command ?? null, error }), jsonReplacer, 2)}
`,
      );
    } else {
      // Exactly one line, whatever the server or a file name said; JSON above keeps the original.
      process.stderr.write(`${redactSecrets(`${this.paint.red("error:")} ${oneLine(message)}`)}\n`);
    }
    if (this.opts.debug && err instanceof Error && err.stack)
      process.stderr.write(`${redactSecrets(err.stack)}\n`);
    return exit;
  }
}

/**
 * `message` redacted, then made one line for a terminal or a log: line breaks become `\n` and
 * `\r`, other control characters (C0 but tab, DEL, C1) `\xNN`, and the Unicode line and paragraph
 * separators `\u2028` / `\u2029`. Redacting first matters: the escapes join what were separate
 * lines (the caller redacts the joined line once more, which can only hide more).
 */
function oneLine(message: string): string {
  const text = redactSecrets(message);
  let out = "";
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== 0x7f && !(c >= 0x80 && c <= 0x9f) && c !== 0x2028 && c !== 0x2029) continue;
    if (c === 0x09) continue;
    const escaped =
      c === 0x0a
        ? "\\n"
        : c === 0x0d
          ? "\\r"
          : c > 0xff
            ? `\\u${c.toString(16)}`
            : `\\x${c.toString(16).padStart(2, "0")}`;
    out += text.slice(copied, i) + escaped;
    copied = i + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** The failure of a report that is not ok; a report that fails without saying why is a bug. */
function failureOf(report: CheckReport | undefined): CheckReport["failure"] {
  if (report === undefined || report.ok) return null;
  if (!report.failure) throw new Error("a check report is not ok but has no failure");
  return report.failure;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** Render rows as an aligned table (plain text; colors applied per cell by the caller). */
export function table(headers: string[], rows: string[][]): string {
  const visible = (s: string) =>
    s.includes("\u001b") ? s.replace(/\u001b\[[0-9;]*m/g, "").length : s.length;
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - visible(c))))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
