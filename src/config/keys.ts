/**
 * The keys of confiture.yaml, derived from the settings table (definition.ts): which keys each
 * layer allows, the kind at a path, the `CONFITURE_<KEY>` overrides and the keys suggested for a
 * typo. Key order follows the table, and messages list keys in that order.
 */
import { SETTING_LIST, type ValueKind } from "./definition.js";

type Kinds = Record<string, ValueKind>;

function layerKeys(): { scalars: Kinds; sections: Record<string, Kinds>; environmentOnly: Kinds } {
  const scalars: Kinds = {};
  const sections: Record<string, Kinds> = {};
  const environmentOnly: Kinds = {};
  for (const { definition } of SETTING_LIST) {
    const [first, second] = definition.yaml;
    if (second !== undefined) {
      sections[first] = { ...sections[first], [second]: definition.kind };
    } else if (definition.environmentOnly) {
      environmentOnly[first] = definition.kind;
    } else {
      scalars[first] = definition.kind;
    }
  }
  return { scalars, sections, environmentOnly };
}

const KEYS = layerKeys();

/** Scalar keys allowed at the top level and inside each environment. */
export const LAYER_SCALARS: Readonly<Kinds> = KEYS.scalars;
/** Sections (mappings of scalars) allowed at the top level and inside each environment. */
export const LAYER_SECTIONS: Readonly<Record<string, Readonly<Kinds>>> = KEYS.sections;
/** Keys only an environment may carry. */
export const ENVIRONMENT_ONLY: Readonly<Kinds> = KEYS.environmentOnly;

/**
 * The `CONFITURE_<KEY>` variable that overrides a top-level scalar key (e.g. CONFITURE_LOCK_TIMEOUT),
 * or undefined for keys inside sections. CONFITURE_ENV selects an environment and is not a key;
 * other CONFITURE_* names (CONFITURE_DEBUG, ...) are simply not looked at.
 */
export function overrideVariableFor(path: readonly string[]): string | undefined {
  const [key] = path;
  return path.length === 1 && key !== undefined && Object.hasOwn(LAYER_SCALARS, key)
    ? `CONFITURE_${key.toUpperCase()}`
    : undefined;
}

/** The kind of the leaf at `path` (a path inside one layer, e.g. ["backup", "dir"]). */
export function kindAt(path: readonly string[]): ValueKind | undefined {
  const [first, second] = path;
  if (first === undefined) return undefined;
  if (path.length === 1) return own(LAYER_SCALARS, first) ?? own(ENVIRONMENT_ONLY, first);
  const section = own(LAYER_SECTIONS, first);
  return path.length === 2 && second !== undefined && section !== undefined
    ? own(section, second)
    : undefined;
}

/** The keys of the section `name`, or undefined when it is not a section. */
export function sectionKeys(name: unknown): string[] | undefined {
  const section = typeof name === "string" ? own(LAYER_SECTIONS, name) : undefined;
  return section === undefined ? undefined : Object.keys(section);
}

/** The keys allowed in the mapping at `path` of the file, for suggestions; undefined if free-form. */
export function keysAllowedAt(path: readonly (string | number)[]): string[] | undefined {
  const layerKeys = [...Object.keys(LAYER_SCALARS), ...Object.keys(LAYER_SECTIONS)];
  if (path.length === 0) return [...layerKeys, "environments"];
  const inLayer = path[0] === "environments" ? path.slice(2) : path;
  if (path[0] === "environments" && path.length === 1) return undefined;
  if (inLayer.length === 0) return [...layerKeys, ...Object.keys(ENVIRONMENT_ONLY)];
  return inLayer.length === 1 ? sectionKeys(inLayer[0]) : undefined;
}

// Own properties only: a key such as "constructor" must not find Object.prototype's.
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
