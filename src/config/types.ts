import type { KindValue, SETTINGS, SettingDefinition, ValueKind } from "./definition.js";

/**
 * The effective configuration every command works from. Produced by `loadConfig`
 * (config/load.ts) from confiture.yaml, the environment and the command-line flags.
 * All paths are absolute. Durations are milliseconds.
 *
 * Its settings (`schema`, `backup`, ...) are derived from the table in definition.ts, which also
 * carries their documentation; only the facts about the load itself are written here.
 */
export interface ConfitureConfig extends SettingValues<typeof SETTINGS> {
  /** Absolute path of the confiture.yaml that was read, or undefined when none exists. */
  configPath: string | undefined;
  /** Directory that relative paths are resolved against (the config file's directory, or cwd). */
  projectDir: string;
  /** Selected environment name (--env, then CONFITURE_ENV), or undefined. */
  environment: string | undefined;
  /** Names of the CONFITURE_* environment variables that changed the result (values never). */
  overridesInEffect: string[];
}

/**
 * The values of a tree of settings, property for property. A homomorphic mapped type, so each
 * property keeps the JSDoc written on its definition.
 */
export type SettingValues<T> = {
  -readonly [P in keyof T]: T[P] extends SettingDefinition<infer K, infer D>
    ? SettingValue<K, D>
    : Expanded<SettingValues<T[P]>>;
};

// Going through `infer` drops the alias, so a hover on `config.backup` shows
// `{ dir: string; ... }` rather than `SettingValues<{ readonly dir: SettingDefinition<...> }>`.
type Expanded<T> = T extends infer O ? { [K in keyof O]: O[K] } : never;

/**
 * A setting's property type: its kind's value, or undefined too when it has no default. A URL
 * resolves to a DatabaseUrlSetting, which records where it came from and a deferred error.
 */
export type SettingValue<K extends ValueKind, D> = K extends "url"
  ? DatabaseUrlSetting
  : KindValue[K] | (undefined extends D ? undefined : never);

/**
 * The database URL, resolved by SPEC precedence:
 * --database-url > CONFITURE_DATABASE_URL > environments.<env>.database_url (the environment chosen
 * with --env / CONFITURE_ENV, when it defines one) > DATABASE_URL > database_url.
 * Resolution is lazy in one respect: a `${VAR}` that is unset inside the winning value is kept
 * as `error` (a ConfigError naming key and line) and only thrown by `requireDatabaseUrl`, so
 * commands that need no database (generate, checksum, config show) still work.
 */
export interface DatabaseUrlSetting {
  /** The URL, or undefined when none is configured anywhere. */
  url: string | undefined;
  /** Where it came from, e.g. "--database-url", "DATABASE_URL", "environments.production.database_url". */
  source: string | undefined;
  /** Set when the winning value could not be expanded; thrown when a command needs the database. */
  error?: Error | undefined;
}

/** What the caller of `loadConfig` knows: flags and the process environment. */
export interface LoadConfigOptions {
  /** -c/--config; when given, the file must exist. Default: ./confiture.yaml if present. */
  configPath?: string | undefined;
  /** -e/--env; falls back to env.CONFITURE_ENV. */
  environment?: string | undefined;
  /** --database-url. */
  databaseUrl?: string | undefined;
  /** Defaults to process.cwd(). */
  cwd?: string | undefined;
  /** Defaults to process.env. */
  env?: Record<string, string | undefined> | undefined;
}
