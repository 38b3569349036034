/**
 * Reading confiture.yaml: the parsed data plus a way back from a key path to the line it is on,
 * so every error can say `confiture.yaml:7: ...`.
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, relative } from "node:path";
import type { Node } from "yaml";
import { ConfigError } from "../errors.js";
import { clipRedacted, redactText } from "../redact/index.js";

/** How much of the YAML parser's own message an error quotes. */
const REASON_MAX = 200;

/** A path into the YAML data: mapping keys and sequence indexes. */
export type KeyPath = readonly (string | number)[];

/** A parsed confiture.yaml. */
export interface ConfigSource {
  /** Absolute path of the file. */
  readonly path: string;
  /** How messages name the file: relative to the working directory when inside it. */
  readonly label: string;
  /** The document as plain data (null for an empty file). */
  readonly data: unknown;
  /** 1-based line of the key (or sequence item) at `path`, or of its nearest existing ancestor. */
  lineOf(path: KeyPath): number;
}

/** `backup.dir`, `verify.smoke[1]`: how messages name a key. */
export function keyPathText(path: KeyPath): string {
  let text = "";
  for (const part of path) {
    text += typeof part === "number" ? `[${part}]` : text === "" ? part : `.${part}`;
  }
  return text;
}

/**
 * A ConfigError located at `path` in `source` (or at no line when there is no file). Every
 * message goes through `redactText`: a key or value quoted back may be a URL with a password.
 */
export function configErrorAt(
  source: ConfigSource | undefined,
  path: KeyPath | undefined,
  message: string,
): ConfigError {
  const key = path === undefined || path.length === 0 ? undefined : keyPathText(path);
  if (source === undefined) return new ConfigError(redactText(message), { key });
  const line = source.lineOf(path ?? []);
  return new ConfigError(redactText(`${source.label}:${line}: ${message}`), {
    file: source.path,
    line,
    key,
  });
}

/** Read and parse a config file; a missing file or malformed YAML is a ConfigError with a line. */
export async function readConfigSource(path: string, cwd: string): Promise<ConfigSource> {
  const label = labelFor(path, cwd);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(readFailure(label, error), { file: path });
  }

  // Loaded only when there is a file to read: it is a measurable share of start-up time.
  const { isAlias, isMap, isSeq, LineCounter, parseDocument } = await import("yaml");
  const lineCounter = new LineCounter();
  // prettyErrors would append the offending source line to messages, and that line may hold a
  // password; the line number is computed here instead.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;

  const parseError = doc.errors[0];
  if (parseError !== undefined) {
    const line = lineAt(parseError.pos[0]);
    // Redacted whole, then cut: a message may quote a long scalar back.
    const reason = clipRedacted(redactText(parseError.message.split("\n")[0] ?? "invalid YAML"), REASON_MAX);
    throw new ConfigError(
      redactText(`${label}:${line}: invalid YAML: ${reason}. Fix the syntax and run the command again.`),
      { file: path, line },
    );
  }

  let data: unknown;
  try {
    data = doc.contents === null ? null : doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const reason = clipRedacted(
      redactText(error instanceof Error ? error.message : String(error)),
      REASON_MAX,
    );
    throw new ConfigError(redactText(`${label}:1: invalid YAML: ${reason}`), { file: path, line: 1 });
  }

  const lineOf = (keyPath: KeyPath): number => {
    let node: unknown = doc.contents;
    let line = nodeLine(node, lineAt) ?? 1;
    for (const part of keyPath) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((item) => keyText(item.key) === String(part));
        if (pair === undefined) return line;
        line = nodeLine(pair.key, lineAt) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof part === "number") {
        const item = node.items[part];
        if (item === undefined) return line;
        line = nodeLine(item, lineAt) ?? line;
        node = item;
      } else {
        return line;
      }
    }
    return line;
  };

  return { path, label, data, lineOf };
}

function keyText(key: unknown): string {
  if (key !== null && typeof key === "object" && "value" in key) return String(key.value);
  return String(key);
}

function nodeLine(node: unknown, lineAt: (offset: number) => number): number | undefined {
  const range = (node as Partial<Node> | null | undefined)?.range;
  return range === undefined || range === null ? undefined : lineAt(range[0]);
}

function labelFor(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

function readFailure(label: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT") {
    return `config file ${label} does not exist: check the -c/--config path, or run "confiture init" to create one`;
  }
  if (code === "EISDIR") return `config file ${label} is a directory: pass the path of the YAML file itself`;
  if (code === "EACCES")
    return `config file ${label} cannot be read (permission denied): check its permissions`;
  return `config file ${label} cannot be read: ${error instanceof Error ? error.message : String(error)}`;
}
