/**
 * Picking each setting's effective value from its sources, highest first:
 * `CONFITURE_<KEY>` variable > selected environment > top level of the file > built-in default.
 * Only the winning file value is `${VAR}`-expanded; values that lose are left alone, so an unset
 * variable in a value nobody uses is not an error.
 */
import { isAbsolute, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { redactText } from "../redact/index.js";
import { type ExpansionProblem, expandVariables, hasReferences } from "./expand.js";
import { ENVIRONMENT_ONLY, kindAt, LAYER_SCALARS, LAYER_SECTIONS, overrideVariableFor } from "./keys.js";
import type { RawFile, RawLayer, RawValue } from "./structure.js";
import { type Checked, checkerFor, settingProblem } from "./values.js";
import { type ConfigSource, configErrorAt, type KeyPath, keyPathText } from "./yaml-source.js";

/** A raw value found in the file, with the full key path it was found at. */
export interface FoundValue {
  raw: RawValue;
  path: string[];
}

/** A resolved setting and where it came from (paths resolve differently per origin). */
export interface Setting<T> {
  value: T;
  origin: "variable" | "file" | "default";
}

type Env = Record<string, string | undefined>;

/** Resolves settings against one file, one selected environment and one process environment. */
export class SettingResolver {
  /** CONFITURE_* variables that supplied a value, in the order they were used. */
  readonly overridesInEffect: string[] = [];
  private readonly layers: { prefix: string[]; data: RawLayer }[];

  constructor(
    private readonly source: ConfigSource | undefined,
    private readonly env: Env,
    file: RawFile,
    environment: string | undefined,
    private readonly cwd: string,
    private readonly projectDir: string,
  ) {
    this.layers = [{ prefix: [], data: file.layer }];
    const selected = environment === undefined ? undefined : file.environments[environment];
    if (environment !== undefined && selected !== undefined) {
      this.layers.unshift({ prefix: ["environments", environment], data: selected });
    }
  }

  /** The highest-precedence file value for `path` (e.g. ["backup", "dir"]), unexpanded. */
  find(path: readonly string[]): FoundValue | undefined {
    for (const layer of this.layers) {
      const raw = lookup(layer.data, path);
      if (raw !== null && raw !== undefined) return { raw, path: [...layer.prefix, ...path] };
    }
    return undefined;
  }

  /** Expand `${VAR}` in a found value; an unset variable is a ConfigError naming key and line. */
  expand(found: FoundValue): unknown {
    const { raw } = found;
    if (typeof raw === "string") return this.expandString(raw, found.path);
    if (Array.isArray(raw)) return raw.map((item, index) => this.expandString(item, [...found.path, index]));
    return raw;
  }

  /** The effective value of a setting, checked; `fallback` when no source sets it. */
  setting<T>(path: readonly string[], kindCheck: (value: unknown) => Checked<T>, fallback: T): Setting<T> {
    const check = withSettingChecks(path, kindCheck);
    const variable = overrideVariableFor(path);
    const fromEnv = variable === undefined ? undefined : this.env[variable];
    if (variable !== undefined && fromEnv !== undefined && fromEnv !== "") {
      const checked = check(fromEnv);
      if (!checked.ok) {
        throw new ConfigError(
          redactText(`${variable} ${checked.problem}; fix the variable, or unset it to use confiture.yaml`),
          { key: keyPathText(path) },
        );
      }
      this.overridesInEffect.push(variable);
      return { value: checked.value, origin: "variable" };
    }
    const found = this.find(path);
    if (found === undefined) return { value: fallback, origin: "default" };
    const checked = check(this.expand(found));
    if (!checked.ok)
      throw configErrorAt(this.source, found.path, `${keyPathText(found.path)} ${checked.problem}`);
    return { value: checked.value, origin: "file" };
  }

  /**
   * Like `setting`, for a directory: absolute, relative to the shell's cwd for variables, else the
   * project. Stays undefined only when unset with no default.
   */
  directory(
    path: readonly string[],
    check: (value: unknown) => Checked<string>,
    fallback: string | undefined,
  ): string | undefined {
    const { value, origin } = this.setting<string | undefined>(path, check, fallback);
    if (value === undefined || isAbsolute(value)) return value;
    return resolve(origin === "variable" ? this.cwd : this.projectDir, value);
  }

  /** A ConfigError located at a key of the file. */
  errorAt(path: KeyPath, message: string): ConfigError {
    return configErrorAt(this.source, path, message);
  }

  private expandString(text: string, path: KeyPath): string {
    const result = expandVariables(text, this.env);
    if (result.ok) return result.value;
    throw configErrorAt(this.source, path, expansionMessage(keyPathText(path), result.problem));
  }
}

/** The kind's check, then the checks of the setting itself (values.ts settingProblem). */
function withSettingChecks<T>(
  path: readonly string[],
  check: (value: unknown) => Checked<T>,
): (value: unknown) => Checked<T> {
  return (value) => {
    const checked = check(value);
    if (!checked.ok) return checked;
    const problem = settingProblem(path, checked.value);
    return problem === undefined ? checked : { ok: false, problem };
  };
}

/** The message for a value whose `${VAR}` references cannot be expanded. */
export function expansionMessage(key: string, problem: ExpansionProblem): string {
  switch (problem.kind) {
    case "unset":
      return `${key} uses \${${problem.variable}}, which is not set (set it, or write \${${problem.variable}:-default})`;
    case "unterminated":
      return `${key} has a "\${" without a closing "}" (write \${NAME}, or $$ for a literal $)`;
    case "malformed":
      // The reference text is not quoted back: in a URL it may be part of a password.
      return `${key} has a "\${...}" that is not a variable reference (write \${NAME} or \${NAME:-default}, or $$ for a literal $)`;
  }
}

/**
 * Check every value written without `${...}` in every layer, including environments that are not
 * selected, so `lock_timeout: 5x` under production fails in CI before the day it is needed.
 * database_url is left to URL resolution, which reports its problems lazily.
 */
export function checkLiteralValues(source: ConfigSource | undefined, file: RawFile): void {
  const layers: { prefix: string[]; data: RawLayer }[] = [{ prefix: [], data: file.layer }];
  for (const [name, data] of Object.entries(file.environments)) {
    layers.push({ prefix: ["environments", name], data });
  }
  const leaves: string[][] = [
    ...Object.keys(LAYER_SCALARS).map((key) => [key]),
    ...Object.keys(ENVIRONMENT_ONLY).map((key) => [key]),
    ...Object.entries(LAYER_SECTIONS).flatMap(([section, keys]) =>
      Object.keys(keys).map((key) => [section, key]),
    ),
  ];
  for (const layer of layers) {
    for (const leaf of leaves) {
      const kind = kindAt(leaf);
      const raw = lookup(layer.data, leaf);
      if (kind === undefined || kind === "url" || raw === null || raw === undefined) continue;
      const literal = Array.isArray(raw) ? raw.every((item) => !hasReferences(item)) : !isTemplate(raw);
      if (!literal) continue;
      const checked = withSettingChecks(leaf, checkerFor(kind))(raw);
      if (!checked.ok) {
        const path = [...layer.prefix, ...leaf];
        throw configErrorAt(source, path, `${keyPathText(path)} ${checked.problem}`);
      }
    }
  }
}

function isTemplate(raw: RawValue): boolean {
  return typeof raw === "string" && hasReferences(raw);
}

function lookup(layer: RawLayer, path: readonly string[]): RawValue {
  const [first, second] = path;
  if (first === undefined) return undefined;
  const value = Object.hasOwn(layer, first) ? layer[first] : undefined;
  if (second === undefined) return value as RawValue;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, second) ? value[second] : undefined;
}
