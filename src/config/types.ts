/**
 * The effective configuration every command works from. Produced by `loadConfig`
 * (config/load.ts) from confiture.yaml, the environment and the command-line flags.
 * All paths are absolute. Durations are milliseconds.
 */
export interface ConfitureConfig {
  /** Absolute path of the confiture.yaml that was read, or undefined when none exists. */
  configPath: string | undefined;
  /** Directory that relative paths are resolved against (the config file's directory, or cwd). */
  projectDir: string;
  /** Selected environment name (--env, then CONFITURE_ENV), or undefined. */
  environment: string | undefined;
  /** True when the selected environment has `protected: true`. */
  protected: boolean;
  database: DatabaseUrlSetting;
  schema: string;
  migrationsDir: string;
  schemaDir: string;
  trackingTable: string;
  lockTimeoutMs: number;
  statementLockTimeoutMs: number;
  backup: {
    dir: string;
    format: "custom" | "directory";
    compress: number;
    retentionDays: number;
  };
  objectives: { rpoMs: number | undefined; rtoMs: number | undefined };
  blueGreen: { backupSchema: string; failedSchema: string };
  verify: { smoke: string[] };
  /** Names of the CONFITURE_* environment variables that changed the result (values never). */
  overridesInEffect: string[];
}

/**
 * The database URL, resolved by SPEC precedence:
 * --database-url > CONFITURE_DATABASE_URL > DATABASE_URL > environments.<env>.database_url > database_url.
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
