/**
 * The keys confiture.yaml understands, in one table. The structural schema, the value checks,
 * the `CONFITURE_<KEY>` overrides and "did you mean" suggestions are all derived from it, so a
 * new key is added in exactly one place.
 */

/** How a value is checked once `${VAR}` references in it are expanded. */
export type ValueKind =
  | "url"
  | "identifier"
  | "path"
  | "duration"
  | "lock-duration"
  | "boolean"
  | "compress"
  | "retention"
  | "backup-format"
  | "commands";

/** Scalar keys allowed at the top level and inside each environment. */
export const LAYER_SCALARS = {
  database_url: "url",
  schema: "identifier",
  migrations_dir: "path",
  schema_dir: "path",
  tracking_table: "identifier",
  lock_timeout: "lock-duration",
  statement_lock_timeout: "lock-duration",
} as const satisfies Record<string, ValueKind>;

/** Sections (mappings of scalars) allowed at the top level and inside each environment. */
export const LAYER_SECTIONS = {
  backup: { dir: "path", format: "backup-format", compress: "compress", retention_days: "retention" },
  objectives: { rpo: "duration", rto: "duration" },
  blue_green: { backup_schema: "identifier", failed_schema: "identifier" },
  verify: { smoke: "commands" },
} as const satisfies Record<string, Record<string, ValueKind>>;

/** Keys only an environment may carry. */
export const ENVIRONMENT_ONLY = { protected: "boolean" } as const satisfies Record<string, ValueKind>;

export type ScalarKey = keyof typeof LAYER_SCALARS;
export type SectionKey = keyof typeof LAYER_SECTIONS;

/**
 * The `CONFITURE_<KEY>` variable that overrides a top-level scalar key (e.g. CONFITURE_LOCK_TIMEOUT),
 * or undefined for keys inside sections. CONFITURE_ENV selects an environment and is not a key;
 * other CONFITURE_* names (CONFITURE_DEBUG, ...) are simply not looked at.
 */
export function overrideVariableFor(path: readonly string[]): string | undefined {
  const [key] = path;
  return path.length === 1 && key !== undefined && key in LAYER_SCALARS
    ? `CONFITURE_${key.toUpperCase()}`
    : undefined;
}

/** The kind of the leaf at `path` (a path inside one layer, e.g. ["backup", "dir"]). */
export function kindAt(path: readonly string[]): ValueKind | undefined {
  const [first, second] = path;
  if (first === undefined) return undefined;
  if (path.length === 1) {
    if (first in LAYER_SCALARS) return LAYER_SCALARS[first as ScalarKey];
    if (first in ENVIRONMENT_ONLY) return ENVIRONMENT_ONLY[first as keyof typeof ENVIRONMENT_ONLY];
    return undefined;
  }
  if (path.length === 2 && second !== undefined && first in LAYER_SECTIONS) {
    const section: Record<string, ValueKind> = LAYER_SECTIONS[first as SectionKey];
    return section[second];
  }
  return undefined;
}

/** The keys allowed in the mapping at `path` of the file, for suggestions; undefined if free-form. */
export function keysAllowedAt(path: readonly (string | number)[]): string[] | undefined {
  const layerKeys = [...Object.keys(LAYER_SCALARS), ...Object.keys(LAYER_SECTIONS)];
  if (path.length === 0) return [...layerKeys, "environments"];
  const inLayer = path[0] === "environments" ? path.slice(2) : path;
  if (path[0] === "environments" && path.length === 1) return undefined;
  if (inLayer.length === 0) return [...layerKeys, ...Object.keys(ENVIRONMENT_ONLY)];
  const section = inLayer[0];
  if (inLayer.length === 1 && typeof section === "string" && section in LAYER_SECTIONS) {
    return Object.keys(LAYER_SECTIONS[section as SectionKey]);
  }
  return undefined;
}
