// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is the syntax under test.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  describeConfig,
  formatDuration,
  type LoadConfigOptions,
  loadConfig,
  parseDuration,
  requireDatabaseUrl,
} from "../../src/config/index.js";
import { ConfigError } from "../../src/errors.js";
import { redactText, redactUrl } from "../../src/redact/index.js";

/** A password that must never show up in any message or output. */
const SENTINEL = "S3ntinel_pw_91";

const created: string[] = [];

afterAll(async () => {
  await Promise.all(created.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh project directory, with confiture.yaml when `yaml` is given. */
async function project(yaml?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "confiture-config-"));
  created.push(dir);
  if (yaml !== undefined) await writeFile(join(dir, "confiture.yaml"), yaml);
  return dir;
}

/** loadConfig in `dir` with an empty environment unless one is given. */
function load(dir: string, opts: Partial<LoadConfigOptions> = {}) {
  return loadConfig({ cwd: dir, env: {}, ...opts });
}

async function loadError(dir: string, opts: Partial<LoadConfigOptions> = {}): Promise<ConfigError> {
  const error = await load(dir, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe("loadConfig defaults", () => {
  it("uses the built-in defaults when there is no confiture.yaml", async () => {
    const dir = await project();
    const config = await load(dir);
    expect(config).toEqual({
      configPath: undefined,
      projectDir: dir,
      environment: undefined,
      protected: false,
      database: { url: undefined, source: undefined },
      schema: "public",
      migrationsDir: join(dir, "db/migrations"),
      schemaDir: join(dir, "db/schema"),
      trackingTable: "confiture_migrations",
      lockTimeoutMs: 60_000,
      statementLockTimeoutMs: 5_000,
      queryTimeoutMs: 30_000,
      backup: { dir: join(dir, "backups"), format: "custom", compress: 9, retentionDays: 30 },
      objectives: { rpoMs: undefined, rtoMs: undefined },
      blueGreen: { backupSchema: "public_backup", failedSchema: "public_failed" },
      verify: { smoke: [] },
      overridesInEffect: [],
    });
    expect(() => requireDatabaseUrl(config)).toThrow(
      "no database URL configured: set DATABASE_URL, pass --database-url, or set database_url in confiture.yaml",
    );
  });

  it("treats an empty file and empty sections as defaults", async () => {
    const dir = await project("# nothing yet\nbackup:\nverify:\n");
    const config = await load(dir);
    expect(config.configPath).toBe(join(dir, "confiture.yaml"));
    expect(config.backup.compress).toBe(9);
    expect(config.verify.smoke).toEqual([]);
  });

  it("reads every key and resolves relative paths against the config file's directory", async () => {
    const dir = await project();
    await mkdir(join(dir, "conf"));
    await writeFile(
      join(dir, "conf", "app.yaml"),
      [
        "database_url: postgres://app@db/app",
        "schema: app",
        "migrations_dir: sql/migrations",
        "schema_dir: /abs/schema",
        "tracking_table: history",
        "lock_timeout: 2m",
        "statement_lock_timeout: 750ms",
        "backup:",
        "  dir: backups/postgres",
        "  format: directory",
        "  compress: 0",
        "  retention_days: 7",
        "objectives:",
        "  rpo: 5m",
        "  rto: 1h30m",
        "blue_green:",
        "  backup_schema: app_old",
        "  failed_schema: app_bad",
        "verify:",
        '  smoke: ["./run_smoke_tests.sh", "echo ok"]',
      ].join("\n"),
    );
    const config = await load(dir, { configPath: "conf/app.yaml" });
    expect(config.configPath).toBe(join(dir, "conf", "app.yaml"));
    expect(config.projectDir).toBe(join(dir, "conf"));
    expect(config.database).toEqual({ url: "postgres://app@db/app", source: "database_url" });
    expect(config.schema).toBe("app");
    expect(config.migrationsDir).toBe(join(dir, "conf", "sql/migrations"));
    expect(config.schemaDir).toBe("/abs/schema");
    expect(config.trackingTable).toBe("history");
    expect(config.lockTimeoutMs).toBe(120_000);
    expect(config.statementLockTimeoutMs).toBe(750);
    expect(config.backup).toEqual({
      dir: join(dir, "conf", "backups/postgres"),
      format: "directory",
      compress: 0,
      retentionDays: 7,
    });
    expect(config.objectives).toEqual({ rpoMs: 300_000, rtoMs: 5_400_000 });
    expect(config.blueGreen).toEqual({ backupSchema: "app_old", failedSchema: "app_bad" });
    expect(config.verify.smoke).toEqual(["./run_smoke_tests.sh", "echo ok"]);
  });

  it("fails with the path when -c names a file that does not exist", async () => {
    const dir = await project();
    const error = await loadError(dir, { configPath: "missing.yaml" });
    expect(error.message).toContain("missing.yaml does not exist");
    expect(error.category).toBe("usage");
    expect(error.file).toBe(join(dir, "missing.yaml"));
  });
});

describe("database URL precedence", () => {
  const yaml = [
    "database_url: postgres://top@h/db",
    "environments:",
    "  production:",
    "    database_url: postgres://prod@h/db",
  ].join("\n");

  it("uses the top-level database_url when nothing else is set", async () => {
    const config = await load(await project(yaml));
    expect(config.database).toEqual({ url: "postgres://top@h/db", source: "database_url" });
  });

  it("prefers the selected environment's database_url", async () => {
    const config = await load(await project(yaml), { environment: "production" });
    expect(config.database).toEqual({
      url: "postgres://prod@h/db",
      source: "environments.production.database_url",
    });
  });

  it("prefers DATABASE_URL over the file when no environment is named (the runbook's restored-copy check)", async () => {
    const config = await load(await project(yaml), {
      env: { DATABASE_URL: "postgresql://localhost/confiture_restore_test" },
    });
    expect(config.database).toEqual({
      url: "postgresql://localhost/confiture_restore_test",
      source: "DATABASE_URL",
    });
    expect(config.overridesInEffect).toEqual([]);
  });

  it("never lets an ambient DATABASE_URL override an environment the user named", async () => {
    const config = await load(await project(yaml), {
      environment: "production",
      env: { DATABASE_URL: "postgres://dev@h/db" },
    });
    expect(config.database).toEqual({
      url: "postgres://prod@h/db",
      source: "environments.production.database_url",
    });
  });

  // SPEC section 2: --database-url > CONFITURE_DATABASE_URL > the chosen environment's
  // database_url > DATABASE_URL > top-level database_url.
  const FLAG = "postgres://flag@h/db";
  const CONF = "postgres://conf@h/db";
  const AMBIENT = "postgres://ambient@h/db";
  const table: Array<{
    flag?: boolean;
    conf?: boolean;
    ambient?: boolean;
    env?: "production" | "staging" | "via CONFITURE_ENV";
    want: [string, string];
  }> = [
    { want: ["postgres://top@h/db", "database_url"] },
    { ambient: true, want: [AMBIENT, "DATABASE_URL"] },
    { env: "production", want: ["postgres://prod@h/db", "environments.production.database_url"] },
    {
      env: "production",
      ambient: true,
      want: ["postgres://prod@h/db", "environments.production.database_url"],
    },
    {
      env: "via CONFITURE_ENV",
      ambient: true,
      want: ["postgres://prod@h/db", "environments.production.database_url"],
    },
    // staging defines no database_url: the ambient DATABASE_URL is next.
    { env: "staging", ambient: true, want: [AMBIENT, "DATABASE_URL"] },
    { env: "staging", want: ["postgres://top@h/db", "database_url"] },
    { env: "production", conf: true, ambient: true, want: [CONF, "CONFITURE_DATABASE_URL"] },
    { env: "production", flag: true, conf: true, ambient: true, want: [FLAG, "--database-url"] },
    { flag: true, want: [FLAG, "--database-url"] },
  ];
  for (const row of table) {
    const given = [
      row.flag && "--database-url",
      row.conf && "CONFITURE_DATABASE_URL",
      row.env && `environment ${row.env}`,
      row.ambient && "DATABASE_URL",
    ].filter(Boolean);
    it(`precedence: ${given.join(" + ") || "file only"} -> ${row.want[1]}`, async () => {
      const file = `${yaml}\n  staging:\n    schema: s\n`;
      const env: Record<string, string> = {};
      if (row.conf) env.CONFITURE_DATABASE_URL = CONF;
      if (row.ambient) env.DATABASE_URL = AMBIENT;
      if (row.env === "via CONFITURE_ENV") env.CONFITURE_ENV = "production";
      const config = await load(await project(file), {
        env,
        ...(row.flag ? { databaseUrl: FLAG } : {}),
        ...(row.env && row.env !== "via CONFITURE_ENV" ? { environment: row.env } : {}),
      });
      expect([config.database.url, config.database.source]).toEqual(row.want);
    });
  }

  it("prefers CONFITURE_DATABASE_URL over DATABASE_URL", async () => {
    const config = await load(await project(yaml), {
      env: { DATABASE_URL: "postgres://plain@h/db", CONFITURE_DATABASE_URL: "postgres://conf@h/db" },
    });
    expect(config.database).toEqual({ url: "postgres://conf@h/db", source: "CONFITURE_DATABASE_URL" });
    expect(config.overridesInEffect).toEqual(["CONFITURE_DATABASE_URL"]);
  });

  it("prefers --database-url over everything", async () => {
    const config = await load(await project(yaml), {
      databaseUrl: "postgres://flag@h/db",
      env: { DATABASE_URL: "postgres://plain@h/db", CONFITURE_DATABASE_URL: "postgres://conf@h/db" },
    });
    expect(config.database).toEqual({ url: "postgres://flag@h/db", source: "--database-url" });
    expect(requireDatabaseUrl(config)).toBe("postgres://flag@h/db");
    expect(config.overridesInEffect).toEqual([]);
  });

  it("does not expand the file's database_url when a higher source wins", async () => {
    const dir = await project("database_url: ${NOT_SET_ANYWHERE}\n");
    const config = await load(dir, { env: { DATABASE_URL: "postgres://h/db" } });
    expect(config.database.error).toBeUndefined();
    expect(requireDatabaseUrl(config)).toBe("postgres://h/db");
  });
});

describe("${VAR} expansion", () => {
  it("expands ${VAR}, ${VAR:-default} and $$ in values that are in effect", async () => {
    const dir = await project(
      [
        "database_url: postgres://${DB_USER}@${DB_HOST:-localhost}/app",
        "schema: ${APP_SCHEMA:-public}",
        "migrations_dir: ${MIG_ROOT}/migrations",
        "lock_timeout: ${LOCK:-90s}",
        "backup:",
        "  compress: ${COMPRESS:-3}",
        "verify:",
        '  smoke: ["${SMOKE_CMD}", "echo $$HOME"]',
      ].join("\n"),
    );
    const config = await load(dir, {
      env: { DB_USER: "app", DB_HOST: "", MIG_ROOT: "/srv", SMOKE_CMD: "./smoke.sh", COMPRESS: "5" },
    });
    expect(config.database.url).toBe("postgres://app@localhost/app");
    expect(config.schema).toBe("public");
    expect(config.migrationsDir).toBe("/srv/migrations");
    expect(config.lockTimeoutMs).toBe(90_000);
    expect(config.backup.compress).toBe(5);
    expect(config.verify.smoke).toEqual(["./smoke.sh", "echo $HOME"]);
  });

  it("rejects an unset ${VAR} outside the URL, naming key and line", async () => {
    const dir = await project("migrations_dir: db/migrations\n\nschema: ${APP_SCHEMA}\n");
    const error = await loadError(dir);
    expect(error.message).toBe(
      "confiture.yaml:3: schema uses ${APP_SCHEMA}, which is not set (set it, or write ${APP_SCHEMA:-default})",
    );
    expect(error.line).toBe(3);
    expect(error.key).toBe("schema");
    expect(error.file).toBe(join(dir, "confiture.yaml"));
  });

  it("names the list item when a smoke command uses an unset variable", async () => {
    const dir = await project("verify:\n  smoke:\n    - ./a.sh\n    - ${SMOKE}\n");
    const error = await loadError(dir);
    expect(error.message).toMatch(
      /^confiture\.yaml:4: verify\.smoke\[1\] uses \$\{SMOKE\}, which is not set/,
    );
  });

  it("keeps an unset variable in the URL as a lazy error so database-free commands still load", async () => {
    const dir = await project("database_url: ${PROD_DATABASE_URL}\nschema: app\n");
    const config = await load(dir);
    expect(config.schema).toBe("app");
    expect(config.database.url).toBeUndefined();
    expect(config.database.source).toBe("database_url");
    expect(config.database.error).toBeInstanceOf(ConfigError);
    expect(() => requireDatabaseUrl(config)).toThrow(
      "confiture.yaml:1: database_url uses ${PROD_DATABASE_URL}, which is not set (set it, or write ${PROD_DATABASE_URL:-default})",
    );
    expect(describeConfig(config).database_url_error).toContain("PROD_DATABASE_URL");
  });

  it("reports the environment's key path when its URL cannot be expanded", async () => {
    const dir = await project(
      "database_url: postgres://h/dev\nenvironments:\n  production:\n    database_url: ${PROD_DATABASE_URL}\n",
    );
    const config = await load(dir, { environment: "production" });
    expect(() => requireDatabaseUrl(config)).toThrow(
      "confiture.yaml:4: environments.production.database_url uses ${PROD_DATABASE_URL}, which is not set",
    );
  });

  it("does not expand environments that are not selected, but still checks their structure", async () => {
    const yaml = "environments:\n  staging:\n    schema: ${STAGING_SCHEMA}\n    lock_timeout: ${T}\n";
    const config = await load(await project(yaml));
    expect(config.schema).toBe("public");
    const error = await loadError(await project(`${yaml}  production:\n    protectd: true\n`));
    expect(error.message).toContain('confiture.yaml:6: unknown key "environments.production.protectd"');
  });

  it("checks literal values of environments that are not selected", async () => {
    const error = await loadError(await project("environments:\n  production:\n    lock_timeout: 5x\n"));
    expect(error.message).toMatch(
      /^confiture\.yaml:3: environments\.production\.lock_timeout must be a duration/,
    );
  });
});

describe("validation errors name the key and the line", () => {
  it("rejects an unknown top-level key with a suggestion, without leaking the URL's password", async () => {
    const dir = await project(
      [
        `database_url: postgres://app:${SENTINEL}@db.internal/prod`,
        "schema: public",
        "migrations_dir: db/migrations",
        "",
        "# timeouts",
        "statement_lock_timeout: 5s",
        "lock_timout: 60s",
      ].join("\n"),
    );
    const error = await loadError(dir);
    expect(error.message).toBe('confiture.yaml:7: unknown key "lock_timout" (did you mean "lock_timeout"?)');
    expect(error.line).toBe(7);
    expect(error.key).toBe("lock_timout");
    expect(JSON.stringify(error)).not.toContain(SENTINEL);
  });

  it("rejects unknown nested keys", async () => {
    const error = await loadError(await project("backup:\n  dir: b\n  compres: 9\n"));
    expect(error.message).toBe('confiture.yaml:3: unknown key "backup.compres" (did you mean "compress"?)');
    const far = await loadError(await project("verify:\n  banana: 1\n"));
    expect(far.message).toBe('confiture.yaml:2: unknown key "verify.banana" (known keys here: smoke)');
  });

  it("reports every structural problem at once, in line order", async () => {
    const error = await loadError(await project("schema: 5\nbackup:\n  compress: [1]\nextra: x\n"));
    expect(error.message.split("\n")).toEqual([
      "confiture.yaml:1: schema must be a string (an SQL identifier), got a number",
      "confiture.yaml:3: backup.compress must be a whole number from 0 to 9, got a list",
      'confiture.yaml:4: unknown key "extra" (known keys here: database_url, schema, migrations_dir, schema_dir, tracking_table, lock_timeout, statement_lock_timeout, query_timeout, backup, objectives, blue_green, verify, environments)',
    ]);
    expect(error.line).toBe(1);
  });

  it("rejects bad durations", async () => {
    const error = await loadError(await project("schema: public\nlock_timeout: 5 minutes\n"));
    expect(error.message).toMatch(/^confiture\.yaml:2: lock_timeout must be a duration such as 60s/);
    expect(error.message).toContain('got "5 minutes"');
    const rpo = await loadError(await project("objectives:\n  rpo: soon\n"));
    expect(rpo.message).toMatch(/^confiture\.yaml:2: objectives\.rpo must be a duration/);
  });

  it("rejects bad identifiers, formats and numbers", async () => {
    const schema = await loadError(await project('schema: "my schema"\n'));
    expect(schema.message).toMatch(/^confiture\.yaml:1: schema must be an SQL identifier/);
    const table = await loadError(await project("tracking_table: 1history\n"));
    expect(table.message).toMatch(/^confiture\.yaml:1: tracking_table must be an SQL identifier/);
    const format = await loadError(await project("backup:\n  format: tar\n"));
    expect(format.message).toBe('confiture.yaml:2: backup.format must be "custom" or "directory", got "tar"');
    const compress = await loadError(await project("backup:\n  compress: 12\n"));
    expect(compress.message).toContain("backup.compress must be a whole number from 0 to 9");
  });

  it("reports malformed YAML with its line, without quoting the line", async () => {
    const dir = await project(
      `schema: public\ndatabase_url: "postgres://u:${SENTINEL}@h/db\nlock_timeout: 5s\n`,
    );
    const error = await loadError(dir);
    expect(error.message).toMatch(/^confiture\.yaml:\d+: invalid YAML: /);
    expect(error.line).toBeGreaterThanOrEqual(2);
    expect(error.message).not.toContain(SENTINEL);

    const duplicate = await loadError(await project("schema: a\nschema: b\n"));
    expect(duplicate.message).toMatch(/^confiture\.yaml:2: invalid YAML: Map keys must be unique/);
  });

  it("never quotes a password back, whatever key or value it sits in", async () => {
    const url = `postgres://app:${SENTINEL}@db/prod`;
    const inKey = await loadError(await project(`"${url}": 1\n`));
    const inSchema = await loadError(await project(`schema: ${url}\n`));
    const inDir = await loadError(await project(`migrations_dir: ["${url}"]\n`));
    for (const error of [inKey, inSchema, inDir]) {
      expect(error.message).toMatch(/^confiture\.yaml:1: /);
      expect(error.message).not.toContain(SENTINEL);
    }
  });

  it("rejects a file that is not a mapping", async () => {
    const error = await loadError(await project("- schema\n- public\n"));
    expect(error.message).toBe(
      "confiture.yaml:1: the file must be a mapping of keys such as database_url and schema, got a list",
    );
  });
});

describe("environments", () => {
  const yaml = [
    "environments:",
    "  production:",
    "    database_url: postgres://prod@h/db",
    "    protected: true",
    "    lock_timeout: 10s",
    "    backup:",
    "      dir: /var/backups",
    "  staging:",
    "    protected: ${STAGING_PROTECTED:-false}",
    "backup:",
    "  retention_days: 14",
  ].join("\n");

  it("applies the selected environment's settings over the top level", async () => {
    const config = await load(await project(yaml), { environment: "production" });
    expect(config.environment).toBe("production");
    expect(config.protected).toBe(true);
    expect(config.lockTimeoutMs).toBe(10_000);
    expect(config.backup.dir).toBe("/var/backups");
    expect(config.backup.retentionDays).toBe(14);
  });

  it("selects from CONFITURE_ENV and reads protected from the environment only", async () => {
    const dir = await project(yaml);
    const staging = await load(dir, { env: { CONFITURE_ENV: "staging", STAGING_PROTECTED: "true" } });
    expect(staging.environment).toBe("staging");
    expect(staging.protected).toBe(true);
    expect(staging.overridesInEffect).toEqual(["CONFITURE_ENV"]);
    expect((await load(dir, { env: { CONFITURE_ENV: "staging" } })).protected).toBe(false);
    expect((await load(dir)).protected).toBe(false);
    const flagWins = await load(dir, { environment: "production", env: { CONFITURE_ENV: "staging" } });
    expect(flagWins.environment).toBe("production");
  });

  it("rejects an environment the file does not define, listing the defined ones", async () => {
    const error = await loadError(await project(yaml), { environment: "prodution" });
    expect(error.message).toBe(
      'confiture.yaml:1: environment "prodution" (from --env) is not defined in confiture.yaml (did you mean "production"?); defined environments: production, staging',
    );
    const fromVar = await loadError(await project(yaml), { env: { CONFITURE_ENV: "qa" } });
    expect(fromVar.message).toContain('environment "qa" (from CONFITURE_ENV) is not defined');
    const noFile = await loadError(await project(), { environment: "production" });
    expect(noFile.message).toContain("no confiture.yaml was found");
  });
});

describe("CONFITURE_<KEY> overrides", () => {
  it("overrides top-level keys and environment settings, and lists the variables used", async () => {
    const dir = await project(
      "schema: app\nlock_timeout: 30s\nenvironments:\n  production:\n    tracking_table: prod_history\n",
    );
    const config = await load(dir, {
      environment: "production",
      env: {
        CONFITURE_SCHEMA: "other",
        CONFITURE_LOCK_TIMEOUT: "2m",
        CONFITURE_TRACKING_TABLE: "override_history",
        CONFITURE_MIGRATIONS_DIR: "elsewhere/migrations",
        CONFITURE_DEBUG: "1",
        CONFITURE_SOMETHING_ELSE: "x",
        CONFITURE_STATEMENT_LOCK_TIMEOUT: "",
      },
    });
    expect(config.schema).toBe("other");
    expect(config.lockTimeoutMs).toBe(120_000);
    expect(config.trackingTable).toBe("override_history");
    expect(config.migrationsDir).toBe(join(dir, "elsewhere/migrations"));
    expect(config.statementLockTimeoutMs).toBe(5_000);
    expect([...config.overridesInEffect].sort()).toEqual([
      "CONFITURE_LOCK_TIMEOUT",
      "CONFITURE_MIGRATIONS_DIR",
      "CONFITURE_SCHEMA",
      "CONFITURE_TRACKING_TABLE",
    ]);
  });

  it("does not expand a file value that an override replaces", async () => {
    const config = await load(await project("schema: ${UNSET_SCHEMA}\n"), {
      env: { CONFITURE_SCHEMA: "app" },
    });
    expect(config.schema).toBe("app");
  });

  it("rejects a bad override value, naming the variable", async () => {
    const error = await loadError(await project(), { env: { CONFITURE_LOCK_TIMEOUT: "soon" } });
    expect(error.message).toMatch(/^CONFITURE_LOCK_TIMEOUT must be a duration such as 60s/);
    expect(error.key).toBe("lock_timeout");
    const schema = await loadError(await project(), { env: { CONFITURE_SCHEMA: "bad name" } });
    expect(schema.message).toMatch(/^CONFITURE_SCHEMA must be an SQL identifier/);
  });
});

describe("durations", () => {
  it("parses units, combinations and bare seconds", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("60s")).toBe(60_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("1.5s")).toBe(1_500);
    expect(parseDuration("90")).toBe(90_000);
    expect(parseDuration(60)).toBe(60_000);
    expect(parseDuration(0)).toBe(0);
    for (const bad of ["", "5x", "-1s", "s", "5 m", "1h30", "ms"]) expect(parseDuration(bad)).toBeUndefined();
    expect(parseDuration(-1)).toBeUndefined();
  });

  it("formats in the largest exact unit", () => {
    expect(formatDuration(60_000)).toBe("1m");
    expect(formatDuration(5_000)).toBe("5s");
    expect(formatDuration(1_500)).toBe("1500ms");
    expect(formatDuration(172_800_000)).toBe("2d");
    expect(formatDuration(0)).toBe("0s");
  });
});

describe("redaction", () => {
  it.each([
    [`postgres://app:${SENTINEL}@db:5432/prod`, "postgres://app:***@db:5432/prod"],
    [
      `postgresql://app:${SENTINEL}@h1:5432,h2:5432/prod?sslmode=require`,
      "postgresql://app:***@h1:5432,h2:5432/prod?sslmode=require",
    ],
    [`postgres://app:p@ss/${SENTINEL}?x@db/prod`, "postgres://app:***@db/prod"],
    [
      `postgres://app:${SENTINEL}@db/prod?application_name=me@laptop`,
      "postgres://app:***@db/prod?application_name=me@laptop",
    ],
    [`postgres://user@server:${SENTINEL}@db/prod`, "postgres://user@server:***@db/prod"],
    [
      `postgres://db/prod?user=app&password=${SENTINEL}&sslmode=require`,
      "postgres://db/prod?user=app&password=***&sslmode=require",
    ],
    [`host=db user=app password=${SENTINEL} dbname=prod`, "host=db user=app password=*** dbname=prod"],
    [`host=db password = 'it\\'s ${SENTINEL}' dbname=prod`, "host=db password = *** dbname=prod"],
  ])("redacts %s", (input, expected) => {
    const output = redactUrl(input);
    expect(output).toBe(expected);
    expect(output).not.toContain(SENTINEL);
  });

  it("leaves URLs without a password untouched", () => {
    for (const url of [
      "postgres://app@db/prod",
      "postgres://db/prod",
      "postgres://[::1]:5432/prod",
      "postgres://db/prod?application_name=me@laptop",
      "embedded",
    ]) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it("redacts every URL inside free text", () => {
    const text = `psql "postgres://a:${SENTINEL}@h/db" -c 'select 1' && psql postgres://b:x/${SENTINEL}@h2/db`;
    const output = redactText(text);
    expect(output).toBe(`psql "postgres://a:***@h/db" -c 'select 1' && psql postgres://b:***@h2/db`);
  });

  it("never throws on garbage", () => {
    for (const garbage of ["", "::::@@@", "postgres://", "postgres://:@", "password=", "%%%", "a://b:c"]) {
      expect(() => redactUrl(garbage)).not.toThrow();
    }
    expect(() => redactUrl(undefined as unknown as string)).not.toThrow();
  });

  it("describes the effective config with the password redacted and its sources named", async () => {
    const dir = await project(
      [
        "environments:",
        "  production:",
        `    database_url: postgres://app:${SENTINEL}@db/prod`,
        "    protected: true",
        "objectives:",
        "  rpo: 5m",
        "verify:",
        `  smoke: ["./smoke.sh postgres://app:${SENTINEL}@db/prod"]`,
      ].join("\n"),
    );
    const config = await load(dir, { environment: "production", env: { CONFITURE_SCHEMA: "app" } });
    expect(config.database.url).toContain(SENTINEL);
    const described = describeConfig(config);
    expect(JSON.stringify(described)).not.toContain(SENTINEL);
    expect(described).toMatchObject({
      config_file: join(dir, "confiture.yaml"),
      environment: "production",
      protected: true,
      database_url: "postgres://app:***@db/prod",
      database_url_source: "environments.production.database_url",
      schema: "app",
      lock_timeout: "1m",
      statement_lock_timeout: "5s",
      objectives: { rpo: "5m", rto: null },
      verify: { smoke: ["./smoke.sh postgres://app:***@db/prod"] },
      overrides_in_effect: ["CONFITURE_SCHEMA"],
    });
  });
});

describe("huge values in errors", () => {
  it("an 80,000-character unknown key is shown by its start, redacted first, and the error is quick", async () => {
    const key = `postgres://u:${"s".repeat(300)}@host/${"k".repeat(80_000)}`;
    const started = performance.now();
    const error = await loadError(await project(`? "${key}"\n: 1\n`));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error.message).toContain(`(${key.length} characters)`);
    expect(error.message.length).toBeLessThan(600);
    expect(error.message).not.toContain("sss");
  });
});
