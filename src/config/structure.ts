/**
 * Structural validation of confiture.yaml with zod (its small build, zod/mini): known keys only, at every level, and the
 * right YAML type for each. Values that may still contain `${VAR}` are checked later, after
 * expansion (values.ts). Messages are written here from the issue, never zod's own text.
 */
import * as z from "zod/mini";

type ZodType = z.ZodMiniType;

import { ConfigError } from "../errors.js";
import { clipRedacted, redactText } from "../redact/index.js";
import type { ValueKind } from "./definition.js";
import {
  ENVIRONMENT_ONLY,
  keysAllowedAt,
  kindAt,
  LAYER_SCALARS,
  LAYER_SECTIONS,
  sectionKeys,
} from "./keys.js";
import { closestMatch } from "./suggest.js";
import { type ConfigSource, configErrorAt, type KeyPath, keyPathText } from "./yaml-source.js";

/** A raw leaf as written in YAML; null means "not set". */
export type RawValue = string | number | boolean | string[] | null | undefined;
/** One layer of settings: the top level, or one environment. Leaves are raw YAML values. */
export type RawLayer = Record<string, RawValue | Record<string, RawValue> | null | undefined>;
/** The whole file after structural validation. */
export interface RawFile {
  layer: RawLayer;
  environments: Record<string, RawLayer>;
}

// Strings are accepted wherever a number or boolean is expected because `${VAR}` can only be
// written as a string; the value check after expansion decides whether it reads as one.
function rawSchema(kind: ValueKind): ZodType {
  switch (kind) {
    case "duration":
    case "lock-duration":
    case "compress":
    case "retention":
      return z.nullish(z.union([z.string(), z.number()]));
    case "boolean":
      return z.nullish(z.union([z.string(), z.boolean()]));
    case "commands":
      return z.nullish(z.array(z.string()));
    default:
      return z.nullish(z.string());
  }
}

function layerShape(kinds: Record<string, ValueKind>): Record<string, ZodType> {
  const shape: Record<string, ZodType> = {};
  for (const [key, kind] of Object.entries(kinds)) shape[key] = rawSchema(kind);
  for (const [section, leaves] of Object.entries(LAYER_SECTIONS)) {
    const sectionShape: Record<string, ZodType> = {};
    for (const [key, kind] of Object.entries(leaves)) {
      sectionShape[key] = rawSchema(kind);
    }
    shape[section] = z.nullish(z.strictObject(sectionShape));
  }
  return shape;
}

const environmentSchema = z.nullish(z.strictObject(layerShape({ ...LAYER_SCALARS, ...ENVIRONMENT_ONLY })));
const fileSchema = z.nullish(
  z.strictObject({
    ...layerShape(LAYER_SCALARS),
    environments: z.nullish(z.record(z.string(), environmentSchema)),
  }),
);

/** At most this many problems are spelled out; the rest are counted. */
const PROBLEMS_SHOWN = 20;

/** Check the file's structure; the first problems (by line) become one ConfigError. */
export function validateStructure(source: ConfigSource): RawFile {
  const result = fileSchema.safeParse(source.data);
  if (!result.success) {
    // Lines first (cheap), messages only for the problems shown: a generated file can have
    // tens of thousands of problems.
    const problems: { line: number; error: () => ConfigError }[] = [];
    for (const issue of result.error.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          problems.push({ line: source.lineOf([...path, key]), error: () => unknownKey(source, path, key) });
        }
      } else {
        problems.push({ line: source.lineOf(path), error: () => wrongType(source, path) });
      }
    }
    problems.sort((a, b) => a.line - b.line);
    const shown = problems.slice(0, PROBLEMS_SHOWN).map((p) => p.error());
    const first = shown[0];
    if (first !== undefined && problems.length === 1) throw first;
    if (first !== undefined) {
      // Report the problems at once, one per line, so a file is fixed in one pass.
      const more = problems.length - shown.length;
      const message = [
        ...shown.map((error) => error.message),
        ...(more > 0 ? [`... and ${more} more problems like these; fix them and run the command again`] : []),
      ].join("\n");
      throw new ConfigError(message, { file: first.file, line: first.line, key: first.key });
    }
  }
  const data = (source.data ?? {}) as Record<string, unknown>;
  const environments: Record<string, RawLayer> = {};
  for (const [name, layer] of Object.entries((data.environments ?? {}) as Record<string, unknown>)) {
    environments[name] = (layer ?? {}) as RawLayer;
  }
  const { environments: _ignored, ...layer } = data;
  return { layer: layer as RawLayer, environments };
}

const KEY_SHOWN = 200;

function unknownKey(source: ConfigSource, parent: KeyPath, key: string): ConfigError {
  const path = [...parent, key];
  const allowed = keysAllowedAt(parent) ?? [];
  const suggestion = closestMatch(key, allowed);
  let hint = "(remove it)";
  if (suggestion !== undefined) hint = `(did you mean "${suggestion}"?)`;
  else if (allowed.length > 0) hint = `(known keys here: ${allowed.join(", ")})`;
  // A key can be anything YAML allows, a megabyte included: show its start, not all of it.
  const name = keyPathText(path);
  // Redacted before it is cut, so a cut can never leave part of a secret unrecognised.
  const redacted = redactText(name);
  const shownName =
    redacted.length <= KEY_SHOWN
      ? redacted
      : `${clipRedacted(redacted, KEY_SHOWN)}… (${name.length} characters)`;
  return configErrorAt(source, path, `unknown key "${shownName}" ${hint}`);
}

function wrongType(source: ConfigSource, path: KeyPath): ConfigError {
  const got = describeType(valueAt(source.data, path));
  const name = keyPathText(path);
  if (path.length === 0) {
    return configErrorAt(
      source,
      path,
      `the file must be a mapping of keys such as database_url and schema, got ${got}`,
    );
  }
  return configErrorAt(source, path, `${name} must be ${expectedFor(path)}, got ${got}`);
}

function expectedFor(path: KeyPath): string {
  if (path[0] === "environments") {
    if (path.length === 1) return "a mapping of environment names to their settings";
    if (path.length === 2) return "a mapping of settings such as database_url and protected";
  }
  const inLayer = (path[0] === "environments" ? path.slice(2) : path).map(String);
  const last = path[path.length - 1];
  const section = inLayer.length === 1 ? sectionKeys(inLayer[0]) : undefined;
  if (section !== undefined) return `a mapping of ${section.join(", ")}`;
  if (typeof last === "number") return "a string (one shell command)";
  const kind = kindAt(inLayer);
  return kind === undefined ? "something else" : EXPECTED[kind];
}

const EXPECTED: Record<ValueKind, string> = {
  url: "a string (a postgres:// URL)",
  identifier: "a string (an SQL identifier)",
  path: "a string (a path)",
  duration: "a duration such as 60s, 5m or 500ms",
  "lock-duration": "a duration such as 60s, 5m or 500ms",
  boolean: "true or false",
  compress: "a whole number from 0 to 9",
  retention: "a whole number of days",
  "backup-format": 'a string ("custom" or "directory")',
  commands: 'a list of shell commands, e.g. ["./run_smoke_tests.sh"]',
};

function valueAt(data: unknown, path: KeyPath): unknown {
  let value = data;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[part];
  }
  return value;
}

function describeType(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return `a ${typeof value}`;
}
