/**
 * A program's stderr as redacted lines: handed to the caller one by one, and the last few kept
 * for the error message. Redaction happens here, before any line leaves, so neither a callback
 * nor an error can ever see a password the program printed.
 */
import { StringDecoder } from "node:string_decoder";
import { redactText } from "../redact/index.js";

/** How many lines an error keeps. */
export const STDERR_TAIL_LINES = 20;

// A program stuck printing one endless line must not grow our memory without bound.
const MAX_LINE_CHARS = 64 * 1024;

/** Collects one child's stderr. */
export class StderrLines {
  readonly tail: string[] = [];
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";

  /**
   * @param secrets exact strings to hide besides what redactText finds (the connection's password).
   * @param onLine called with every non-blank redacted line; an exception from it is the caller's to handle.
   */
  constructor(
    private readonly secrets: readonly string[],
    private readonly onLine: (line: string) => void = () => {},
  ) {}

  /** Feed a chunk as it arrives. */
  push(chunk: Buffer | string): void {
    this.partial += typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    // \r ends a line too: pg_basebackup --progress rewrites its line with it.
    const lines = this.partial.split(/\r\n|\r|\n/);
    this.partial = lines.pop() ?? "";
    if (this.partial.length > MAX_LINE_CHARS) {
      lines.push(this.partial);
      this.partial = "";
    }
    for (const line of lines) this.emit(line);
  }

  /** The stream ended: flush a last line without a newline. */
  end(): void {
    this.partial += this.decoder.end();
    if (this.partial !== "") this.emit(this.partial);
    this.partial = "";
  }

  /**
   * The line that best says why the program failed, without the `tool: ` prefix, whitespace
   * collapsed: the last `error:` / `FATAL:` / ... line, else the last line that is not a
   * caret or `LINE n:` pointer.
   * @example "error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL: password authentication failed for user \"app\""
   */
  reason(tool: string): string | undefined {
    const lines = [...this.tail].reverse();
    const line =
      lines.find((l) => /\b(?:error|fatal|panic):/i.test(l)) ??
      lines.find((l) => !/^\s*(?:\^|LINE \d+:)/.test(l));
    if (line === undefined) return undefined;
    const prefix = `${tool}: `;
    const text = line.startsWith(prefix) ? line.slice(prefix.length) : line;
    return text.replace(/\s+/g, " ").trim();
  }

  private emit(raw: string): void {
    if (raw.trim() === "") return;
    let line = raw;
    for (const secret of this.secrets) if (secret !== "") line = line.split(secret).join("***");
    line = redactText(line);
    this.tail.push(line.length > 2000 ? `${line.slice(0, 2000)}...` : line);
    if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
    this.onLine(line);
  }
}
