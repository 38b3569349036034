/**
 * Reading confiture.yaml: the parsed data plus a way back from a key path to the line it is on,
 * so every error can say `confiture.yaml:7: ...`.
 */
import { open } from "node:fs/promises";
import { isAbsolute, relative } from "node:path";
import type { Document, Node, Pair, YAMLMap } from "yaml";
import { ConfigError } from "../errors.js";
import { clipRedacted, redactText } from "../redact/index.js";

/**
 * The largest config file read. A configuration takes a few hundred bytes per environment; the
 * yaml package parses roughly a megabyte a second, so this bound keeps any file, whatever it
 * holds, loading in under a second. Measured with `confiture config show` on 128 KB files of the
 * slowest shapes (thousands of environments, tiny `e1: {}` ones, flow mappings, list items,
 * unknown keys): 0.68-0.81 s wall on a busy 2-core machine, where a one-line config takes 0.32 s.
 */
export const MAX_CONFIG_BYTES = 128 * 1024;

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
    text = await readBounded(path, label);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(readFailure(label, error), { file: path });
  }

  // Loaded only when there is a file to read: it is a measurable share of start-up time.
  const yaml = await import("./yaml-lib.js");
  const { isAlias, isMap, isSeq, LineCounter, parseDocument } = yaml;
  const lineCounter = new LineCounter();
  // prettyErrors would append the offending source line to messages, and that line may hold a
  // password; the line number is computed here instead. The yaml package's own duplicate-key
  // check compares each key with every earlier one of its mapping (64,000 environments: 20 s);
  // firstDuplicateKey does the same check in linear time.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;

  const duplicate = firstDuplicateKey(doc, yaml);
  const syntaxError = doc.errors[0];
  const parseError =
    duplicate !== undefined && (syntaxError === undefined || duplicate.pos[0] < syntaxError.pos[0])
      ? duplicate
      : syntaxError;
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

  // Each mapping's keys are indexed on the first lookup in it, so reporting many problems in a
  // large file stays linear.
  const indexes = new WeakMap<YAMLMap, Map<string, Pair>>();
  const pairOf = (map: YAMLMap, key: string): Pair | undefined => {
    let index = indexes.get(map);
    if (index === undefined) {
      index = new Map();
      for (const item of map.items) {
        const text = keyText(item.key);
        if (!index.has(text)) index.set(text, item);
      }
      indexes.set(map, index);
    }
    return index.get(key);
  };

  const lineOf = (keyPath: KeyPath): number => {
    let node: unknown = doc.contents;
    let line = nodeLine(node, lineAt) ?? 1;
    for (const part of keyPath) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = pairOf(node, String(part));
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

/**
 * The first (by position) key that repeats an earlier scalar key of the same mapping, as the
 * yaml package reports it with `uniqueKeys: true` ("Map keys must be unique", at the key), in one
 * pass over the document. Keys that are collections or aliases are never equal, as there.
 */
function firstDuplicateKey(
  doc: Document.Parsed,
  yaml: Pick<typeof import("yaml"), "isMap" | "isSeq" | "isPair" | "isScalar">,
): { message: string; pos: [number, number] } | undefined {
  let first: { message: string; pos: [number, number] } | undefined;
  const pending: unknown[] = [doc.contents];
  while (pending.length > 0) {
    const node = pending.pop();
    if (yaml.isMap(node)) {
      const seen = new Set<unknown>();
      for (const item of node.items) {
        pending.push(item.key, item.value);
        const key = item.key;
        if (!yaml.isScalar(key) || Number.isNaN(key.value)) continue;
        if (!seen.has(key.value)) {
          seen.add(key.value);
          continue;
        }
        const at = key.range?.[0] ?? 0;
        if (first === undefined || at < first.pos[0]) {
          first = { message: "Map keys must be unique", pos: [at, at + 1] };
        }
      }
    } else if (yaml.isSeq(node)) {
      for (const item of node.items) pending.push(item);
    } else if (yaml.isPair(node)) {
      pending.push(node.key, node.value);
    }
  }
  return first;
}

/** The file's text, refusing a file over MAX_CONFIG_BYTES before reading it. */
async function readBounded(path: string, label: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    // A pipe or device reports size 0: what it yields is measured once read.
    const text = size > MAX_CONFIG_BYTES ? undefined : await handle.readFile("utf8");
    const bytes = text === undefined ? size : Buffer.byteLength(text, "utf8");
    if (text === undefined || bytes > MAX_CONFIG_BYTES) {
      throw new ConfigError(
        `config file ${label} is ${sizeText(bytes)}, larger than the ${sizeText(MAX_CONFIG_BYTES)} a config file may have ` +
          `(a configuration needs a few hundred bytes per environment, and a larger file takes seconds to parse); ` +
          `keep only the settings and environments the project needs, or pass the right file with -c/--config`,
        { file: path },
      );
    }
    return text;
  } finally {
    await handle.close();
  }
}

function sizeText(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
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
