/**
 * loadConfig: confiture.yaml + environment variables + flags -> the effective ConfitureConfig.
 *
 * Order of work: read and parse the file, check its structure (unknown keys, wrong types), select
 * the environment, check literal values everywhere, then resolve each setting by precedence,
 * expanding `${VAR}` only in the values that win.
 */
import { lstat, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { hideSecret } from "../redact/index.js";
import { type AnySettingDefinition, assignAt, SETTING_LIST } from "./definition.js";
import { checkLiteralValues, SettingResolver } from "./settings.js";
import type { RawFile } from "./structure.js";
import { closestMatch } from "./suggest.js";
import type { ConfitureConfig, DatabaseUrlSetting, LoadConfigOptions } from "./types.js";
import { checkerFor } from "./values.js";
import { type ConfigSource, configErrorAt, keyPathText, readConfigSource } from "./yaml-source.js";

/** The file looked for in the working directory when no -c/--config is given. */
export const DEFAULT_CONFIG_FILE = "confiture.yaml";

const NO_DATABASE_URL =
  "no database URL configured: set DATABASE_URL, pass --database-url, or set database_url in confiture.yaml";

type Env = Record<string, string | undefined>;

/**
 * Load the effective configuration. Throws ConfigError for anything wrong in the file or the
 * environment, except a database URL that cannot be expanded: that is kept in
 * `config.database.error` and thrown by `requireDatabaseUrl`, so commands that need no database
 * still run.
 * @example const config = await loadConfig({ environment: "production" });
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<ConfitureConfig> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const env: Env = opts.env ?? process.env;
  const source = await locateSource(opts.configPath, cwd);
  // zod is only loaded when there is a file to validate: it is a large share of start-up time.
  const file: RawFile =
    source === undefined
      ? { layer: {}, environments: {} }
      : (await import("./structure.js")).validateStructure(source);
  const environment = selectEnvironment(opts, env, file, source);
  checkLiteralValues(source, file);

  const projectDir = source === undefined ? cwd : dirname(source.path);
  const settings = new SettingResolver(source, env, file, environment?.name, cwd, projectDir);
  if (environment?.from === "CONFITURE_ENV") settings.overridesInEffect.push("CONFITURE_ENV");

  const config: Record<string, unknown> = {
    configPath: source?.path,
    projectDir,
    environment: environment?.name,
  };
  // In table order, which is also the order overridesInEffect lists the variables in.
  for (const { property, definition } of SETTING_LIST) {
    assignAt(config, property, resolveSetting(definition, settings, env, opts.databaseUrl));
  }
  config.overridesInEffect = settings.overridesInEffect;
  // Its password is hidden wherever it turns up in output, even bare (a smoke script, a title).
  hideSecret(passwordOf((config.database as DatabaseUrlSetting | undefined)?.url));
  hideSecret(env.PGPASSWORD);
  // ConfitureConfig's settings are derived from SETTING_LIST's table (types.ts), and every entry
  // was just assigned at its property, so the object has the type's shape by construction.
  return config as unknown as ConfitureConfig;
}

/**
 * The database URL a command should connect to; throws the stored expansion error, or a
 * ConfigError when no URL is configured anywhere.
 * @example const url = requireDatabaseUrl(await loadConfig({}));
 */
export function requireDatabaseUrl(config: ConfitureConfig): string {
  if (config.database.error !== undefined) throw config.database.error;
  if (config.database.url === undefined || config.database.url === "") {
    throw new ConfigError(NO_DATABASE_URL, { key: "database_url" });
  }
  const url = config.database.url;
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== "postgres:" && protocol !== "postgresql:") {
    // Not echoed: a malformed URL may still hold a password that no pattern would recognise.
    throw new ConfigError(
      `the database URL from ${config.database.source ?? "the configuration"} is not a valid postgres:// URL ` +
        "(expected postgres://user@host:5432/dbname, with any password after the user and percent-encoded); " +
        "it is not printed because it may contain a password",
      { key: "database_url" },
    );
  }
  return url;
}

async function locateSource(configPath: string | undefined, cwd: string): Promise<ConfigSource | undefined> {
  if (configPath !== undefined && configPath !== "") {
    // readConfigSource reports a missing or unreadable explicit file with its path.
    return readConfigSource(resolve(cwd, configPath), cwd);
  }
  const fallback = resolve(cwd, DEFAULT_CONFIG_FILE);
  // Only a name that is not there at all means "no config file": anything else by that name
  // (a directory, a dangling link, an unreadable entry) would otherwise be ignored silently.
  const problem = await stat(fallback).then(
    (s) => (s.isFile() ? null : s.isDirectory() ? "is a directory" : "is not a regular file"),
    (error: NodeJS.ErrnoException) =>
      error.code === "ENOENT"
        ? lstat(fallback).then(
            () => "is a symbolic link to a file that does not exist",
            () => undefined,
          )
        : `cannot be read (${error.code ?? error.message})`,
  );
  if (problem === undefined) return undefined;
  if (problem === null) return readConfigSource(fallback, cwd);
  throw new ConfigError(
    `${fallback} ${problem}, not a config file: remove or rename it, or pass -c FILE to use another config file`,
    { file: fallback },
  );
}

function selectEnvironment(
  opts: LoadConfigOptions,
  env: Env,
  file: RawFile,
  source: ConfigSource | undefined,
): { name: string; from: "--env" | "CONFITURE_ENV" } | undefined {
  let name: string;
  let from: "--env" | "CONFITURE_ENV";
  if (opts.environment !== undefined && opts.environment !== "") {
    name = opts.environment;
    from = "--env";
  } else if (env.CONFITURE_ENV !== undefined && env.CONFITURE_ENV !== "") {
    name = env.CONFITURE_ENV;
    from = "CONFITURE_ENV";
  } else {
    return undefined;
  }
  if (Object.hasOwn(file.environments, name)) return { name, from };

  const defined = Object.keys(file.environments);
  if (source === undefined) {
    throw new ConfigError(
      `environment "${name}" (from ${from}) is not defined: no ${DEFAULT_CONFIG_FILE} was found, so no environments exist. ` +
        `Create one with an environments: section, pass -c/--config, or drop ${from}`,
      { key: "environments" },
    );
  }
  const suggestion = closestMatch(name, defined);
  const hint = suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`;
  const known =
    defined.length === 0
      ? `the file defines no environments; add it under environments:, or drop ${from}`
      : `defined environments: ${defined.join(", ")}`;
  throw configErrorAt(
    source,
    ["environments"],
    `environment "${name}" (from ${from}) is not defined in ${source.label}${hint}; ${known}`,
  );
}

/**
 * One setting's effective value; how it is resolved follows from its kind alone. The one `url`
 * setting is the database URL, with its own precedence and deferred errors.
 */
function resolveSetting(
  definition: AnySettingDefinition,
  settings: SettingResolver,
  env: Env,
  flag: string | undefined,
): unknown {
  switch (definition.kind) {
    case "url":
      return resolveDatabaseUrl(settings, env, flag, definition.yaml);
    case "path":
      return settings.directory(definition.yaml, checkerFor("path"), definition.default);
    default: {
      // The table's list defaults are shared: each config gets its own copy to change.
      const fallback = Array.isArray(definition.default) ? [...definition.default] : definition.default;
      return settings.setting<unknown>(definition.yaml, checkerFor(definition.kind), fallback).value;
    }
  }
}

/**
 * --database-url > CONFITURE_DATABASE_URL > environments.<env>.database_url > DATABASE_URL >
 * database_url. A file value is expanded only when it wins, and its problems are kept, not thrown.
 */
function resolveDatabaseUrl(
  settings: SettingResolver,
  env: Env,
  flag: string | undefined,
  yaml: readonly string[],
): DatabaseUrlSetting {
  if (flag !== undefined && flag !== "") return { url: flag, source: "--database-url" };
  const explicit = env.CONFITURE_DATABASE_URL;
  if (explicit !== undefined && explicit !== "") {
    settings.overridesInEffect.push("CONFITURE_DATABASE_URL");
    return { url: explicit, source: "CONFITURE_DATABASE_URL" };
  }
  // An environment the user named is never overridden by an ambient DATABASE_URL; without one,
  // DATABASE_URL wins over the file's top level (the runbook points it at a restored copy).
  const found = settings.find(yaml);
  const fromEnvironment = found !== undefined && found.path[0] === "environments";
  const ambient = env.DATABASE_URL;
  if (!fromEnvironment && ambient !== undefined && ambient !== "")
    return { url: ambient, source: "DATABASE_URL" };
  if (found === undefined) return { url: undefined, source: undefined };
  const key = keyPathText(found.path);
  try {
    const checked = checkerFor("url")(settings.expand(found));
    if (checked.ok) return { url: checked.value, source: key };
    return {
      url: undefined,
      source: key,
      error: settings.errorAt(
        found.path,
        `${key} is empty after \${VAR} expansion: set it to a postgres:// URL, or set DATABASE_URL or --database-url`,
      ),
    };
  } catch (error) {
    if (error instanceof ConfigError) return { url: undefined, source: key, error };
    throw error;
  }
}

/** The password of a URL, or undefined (no password, or not a URL). */
function passwordOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    return u.password === "" ? (u.searchParams.get("password") ?? undefined) : u.password;
  } catch {
    return undefined;
  }
}
