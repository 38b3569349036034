/**
 * Every setting of confiture.yaml, defined once. Each entry gives the setting's YAML path, its
 * value kind and its default; where it sits in `SETTINGS` is its property in `ConfitureConfig`.
 * Everything else is derived from this table: the config type (types.ts), the structural schema
 * (structure.ts), the allowed keys, `CONFITURE_<KEY>` overrides and suggestions (keys.ts), the
 * value checks (values.ts), resolution (load.ts) and `confiture config show` (describe.ts).
 */

/**
 * What a value is. The kind decides the YAML types accepted, the check once `${VAR}` is
 * expanded, the TypeScript type of the property and how `config show` prints it.
 */
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

/** The type of a checked value of each kind (durations are milliseconds). */
export interface KindValue {
  url: string;
  identifier: string;
  path: string;
  duration: number;
  "lock-duration": number;
  boolean: boolean;
  compress: number;
  retention: number;
  /** pg_dump's output formats Confiture can verify and restore. */
  "backup-format": "custom" | "directory";
  commands: string[];
}

/** Where a setting is written inside one layer: a top-level key, or a key of a section. */
export type YamlPath = readonly [key: string] | readonly [section: string, key: string];

/** One setting. `D` is the type of its default; `undefined` makes the setting optional. */
export interface SettingDefinition<K extends ValueKind = ValueKind, D = KindValue[K] | undefined> {
  /** Where it is written inside one layer (the top level or an environment): ["backup", "retention_days"]. */
  readonly yaml: YamlPath;
  readonly kind: K;
  /** The value when no source sets it. Paths are relative to the project directory. */
  readonly default: D;
  /** Only an environment may set it, and no CONFITURE_<KEY> variable overrides it. */
  readonly environmentOnly: boolean;
}

/** Any one setting, as a union on `kind`: checking the kind narrows the type of the default. */
export type AnySettingDefinition = { [K in ValueKind]: SettingDefinition<K> }[ValueKind];

/** Settings grouped as in `ConfitureConfig`: a property is a setting or a group of them. */
export interface SettingTree {
  readonly [property: string]: AnySettingDefinition | SettingTree;
}

/** A setting as it is listed: its property path in `ConfitureConfig` and its definition. */
export interface SettingEntry {
  readonly property: readonly string[];
  readonly definition: AnySettingDefinition;
}

// `D` is inferred from the default, so `undefined` (optional) stays distinct from a value, while
// the constraint rejects a default of the wrong type for the kind.
function setting<K extends ValueKind, D extends KindValue[K] | undefined>(
  yaml: YamlPath,
  kind: K,
  fallback: D,
): SettingDefinition<K, D> {
  return { yaml, kind, default: fallback, environmentOnly: false };
}

// Environment-only keys are top-level keys of an environment (no sections need one).
function environmentOnly<K extends ValueKind, D extends KindValue[K] | undefined>(
  yaml: readonly [key: string],
  kind: K,
  fallback: D,
): SettingDefinition<K, D> {
  return { yaml, kind, default: fallback, environmentOnly: true };
}

/**
 * The settings, in the order `config show` prints them. The JSDoc here is what a hover on a
 * `ConfitureConfig` property shows.
 */
export const SETTINGS = {
  /** True when the selected environment has `protected: true` (environments only). */
  protected: environmentOnly(["protected"], "boolean", false),
  /**
   * `database_url`, resolved lazily and by precedence over flags and variables (see
   * DatabaseUrlSetting) rather than like the other settings.
   */
  database: setting(["database_url"], "url", undefined),
  /** The managed schema (`schema`, CONFITURE_SCHEMA). */
  schema: setting(["schema"], "identifier", "public"),
  /** Absolute directory of the migration files (`migrations_dir`). */
  migrationsDir: setting(["migrations_dir"], "path", "db/migrations"),
  /** Absolute schema directory (`schema_dir`). */
  schemaDir: setting(["schema_dir"], "path", "db/schema"),
  /** Table that records applied migrations, in `schema` (`tracking_table`). */
  trackingTable: setting(["tracking_table"], "identifier", "confiture_migrations"),
  /** How long to wait for the migration lock, in ms (`lock_timeout`). */
  lockTimeoutMs: setting(["lock_timeout"], "lock-duration", 60_000),
  /** PostgreSQL lock_timeout for DDL, in ms, retried with backoff (`statement_lock_timeout`). */
  statementLockTimeoutMs: setting(["statement_lock_timeout"], "lock-duration", 5_000),
  /**
   * The longest Confiture waits for the server to answer one of its own queries (history,
   * lock bookkeeping, the lock wait beyond lock_timeout), in ms (`query_timeout`); then the
   * connection is treated as lost. A migration's own statements are not bounded by it.
   */
  queryTimeoutMs: setting(["query_timeout"], "lock-duration", 30_000),
  /** pg_dump backups (`backup:`). */
  backup: {
    /** Absolute directory the backups are written to (`backup.dir`). */
    dir: setting(["backup", "dir"], "path", "backups"),
    /** pg_dump format (`backup.format`). */
    format: setting(["backup", "format"], "backup-format", "custom"),
    /** pg_dump compression level, 0 to 9 (`backup.compress`). */
    compress: setting(["backup", "compress"], "compress", 9),
    /** How many days backups are kept (`backup.retention_days`). */
    retentionDays: setting(["backup", "retention_days"], "retention", 30),
  },
  /** Recovery objectives (`objectives:`); no defaults. */
  objectives: {
    /** Recovery point objective in ms (`objectives.rpo`), or undefined when unset. */
    rpoMs: setting(["objectives", "rpo"], "duration", undefined),
    /** Recovery time objective in ms (`objectives.rto`), or undefined when unset. */
    rtoMs: setting(["objectives", "rto"], "duration", undefined),
  },
  /** Schema names for blue-green deployments (`blue_green:`). */
  blueGreen: {
    /** A schema name (`blue_green.backup_schema`). */
    backupSchema: setting(["blue_green", "backup_schema"], "identifier", "public_backup"),
    /** A schema name (`blue_green.failed_schema`). */
    failedSchema: setting(["blue_green", "failed_schema"], "identifier", "public_failed"),
  },
  /** Verification (`verify:`). */
  verify: {
    /** Smoke-test shell commands (`verify.smoke`). */
    smoke: setting(["verify", "smoke"], "commands", []),
  },
} as const satisfies SettingTree;

// A group's properties are objects, never a string kind, even one named `kind`.
function isSetting(node: AnySettingDefinition | SettingTree): node is AnySettingDefinition {
  return typeof node.kind === "string";
}

function entries(tree: SettingTree, parent: readonly string[]): SettingEntry[] {
  return Object.entries(tree).flatMap(([name, node]) =>
    isSetting(node) ? [{ property: [...parent, name], definition: node }] : entries(node, [...parent, name]),
  );
}

/** Every setting, flattened, in table order. */
export const SETTING_LIST: readonly SettingEntry[] = entries(SETTINGS, []);

/** The value at `path` of a nested object (a property path or a YAML path), or undefined. */
export function valueAt(data: unknown, path: readonly string[]): unknown {
  let value = data;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Set `value` at `path` of `target`, creating the groups on the way in the order first met. */
export function assignAt(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const last = path[path.length - 1];
  if (last === undefined) return;
  let group = target;
  for (const part of path.slice(0, -1)) {
    const existing = group[part];
    const next = existing !== null && typeof existing === "object" ? existing : {};
    group[part] = next;
    group = next as Record<string, unknown>;
  }
  group[last] = value;
}
