// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is confiture.yaml syntax.
/**
 * Bad input, end to end: every mistake a user can make in the config, the migration files, the
 * command line or the connection gives exactly one error line on stderr (nothing on stdout), the
 * SPEC section 10 exit code, the same error as one JSON document with --format json, never the
 * password, and leaves the database exactly as it was. Validation runs before anything, so good
 * migrations pending in front of the bad one are not applied either.
 */
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import {
  createTestDatabase,
  SENTINEL_PASSWORD,
  type TestDatabase,
  urlForDatabase,
  urlWithPassword,
} from "../support/database.js";
import { closedPort } from "../support/e2e.js";
import { makeProject, type TestProject } from "../support/project.js";

const SCHEMA = "bad_input";
const SPACED_PASSWORD = "leak me 'now'";
const WRONG_PASSWORD = "WRONG-pw-4q7z";

/** Applied in beforeAll; every case's project starts from these files (same checksums). */
const BASE: Record<string, string> = {
  "001_base.up.sql": `create table ${SCHEMA}.base (id int);\n`,
  "002_second.up.sql": `create table ${SCHEMA}.second (id int);\n`,
  "002_second.down.sql": `drop table ${SCHEMA}.second;\n`,
};
/** A valid pending migration placed before the bad one: it must not be applied either. */
const GOOD = {
  "003_good.up.sql": `create table ${SCHEMA}.good (id int);\ninsert into ${SCHEMA}.good values (1);\n`,
};

/** Filled in beforeAll; case definitions read it lazily. */
interface Ctx {
  /** URL of the test database; contains SENTINEL_PASSWORD. */
  url: string;
  /** A loopback port nothing listens on. */
  closedPort: number;
}
const ctx: Ctx = { url: "", closedPort: 0 };

interface Case {
  name: string;
  args: string[];
  exit: 1 | 2 | 5;
  /** `error.code` of the JSON document. */
  code: string;
  /** Each must match the one stderr line. */
  message: RegExp[];
  /** confiture.yaml; default: the sentinel URL, the schema, a short lock_timeout. No file when null. */
  config?: (c: Ctx) => string | null;
  /** Migration files added to (or, with `null`, removed from) BASE. */
  files?: Record<string, string | Buffer | null>;
  env?: (c: Ctx) => Record<string, string | undefined>;
  /** Secrets besides the sentinel that must never be printed. */
  secrets?: string[];
  /** A failed migration attempt is audited: exactly one new confiture_events row with this outcome. */
  auditedOutcome?: "failed";
}

const defaultConfig = (c: Ctx, extra = ""): string =>
  `database_url: ${c.url}\nschema: ${SCHEMA}\nlock_timeout: 5s\n${extra}`;
const urlOnPort = (c: Ctx, port: number): string => {
  const u = new URL(c.url);
  u.port = String(port);
  return u.toString();
};
const urlOnHost = (c: Ctx, host: string): string => {
  const u = new URL(c.url);
  u.hostname = host;
  return u.toString();
};

const CASES: Case[] = [
  // --- confiture.yaml and the environment -----------------------------------------------------
  {
    name: "malformed YAML (unclosed quote on the database_url line)",
    config: (c) => `database_url: "${c.url}\nschema: ${SCHEMA}\n`,
    args: ["migrate", "up"],
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/^error: confiture\.yaml:\d+: invalid YAML: /],
  },
  {
    name: "unknown top-level key",
    config: (c) => `databse_url: ${c.url}\nschema: ${SCHEMA}\n`,
    env: (c) => ({ DATABASE_URL: c.url }),
    args: ["migrate", "up"],
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/confiture\.yaml:1: unknown key "databse_url"/, /did you mean "database_url"/],
  },
  {
    name: "unknown nested key under environments.staging",
    config: (c) =>
      defaultConfig(c, `environments:\n  staging:\n    database_url: ${c.url}\n    protectd: true\n`),
    args: ["migrate", "up"],
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/confiture\.yaml:7: unknown key "environments\.staging\.protectd"/, /did you mean "protected"/],
  },
  {
    name: "unset ${VAR} in database_url and no DATABASE_URL",
    config: (c) =>
      `database_url: ${c.url.replace(/\/[^/]*$/, "/${CONFITURE_TEST_NO_SUCH_DB}")}\nschema: ${SCHEMA}\n`,
    args: ["migrate", "up"],
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/confiture\.yaml:1: database_url uses \$\{CONFITURE_TEST_NO_SUCH_DB\}, which is not set/],
  },
  {
    name: "bad duration (lock_timeout: 5 parsecs)",
    config: (c) => `database_url: ${c.url}\nschema: ${SCHEMA}\nlock_timeout: 5 parsecs\n`,
    files: GOOD,
    args: ["migrate", "up"],
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/confiture\.yaml:3: lock_timeout must be a duration/, /"5 parsecs"/],
  },
  {
    name: "bad duration in CONFITURE_LOCK_TIMEOUT",
    env: () => ({ CONFITURE_LOCK_TIMEOUT: "soon" }),
    files: GOOD,
    args: ["migrate", "up"],
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/CONFITURE_LOCK_TIMEOUT must be a duration/, /"soon"/],
  },
  {
    name: "bad identifier in schema",
    config: (c) => `database_url: ${c.url}\nschema: "bad-schema; drop table x"\n`,
    files: GOOD,
    args: ["migrate", "up"],
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/confiture\.yaml:2: schema must be an SQL identifier/],
  },
  {
    name: "-c pointing to a missing file",
    args: ["-c", "missing.yaml", "migrate", "up", "--database-url", "<url>"],
    files: GOOD,
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/config file missing\.yaml does not exist/],
  },
  {
    name: "unknown --env name",
    config: (c) => defaultConfig(c, `environments:\n  production:\n    database_url: ${c.url}\n`),
    files: GOOD,
    args: ["-e", "prodution", "migrate", "up"],
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/environment "prodution" \(from --env\) is not defined/, /did you mean "production"/],
  },
  {
    name: "missing migrations directory",
    config: (c) => defaultConfig(c, "migrations_dir: db/nope\n"),
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATIONS_DIR_MISSING",
    message: [/migrations directory \S*db\/nope does not exist/],
  },
  // --- migration files --------------------------------------------------------------------------
  {
    name: "duplicate versions (004_a and 4_b), naming both files",
    files: { ...GOOD, "004_a.up.sql": "select 1;\n", "4_b.up.sql": "select 2;\n" },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_DUPLICATE_VERSION",
    message: [/duplicate migration version/, /004_a\.up\.sql/, /4_b\.up\.sql/],
  },
  {
    name: "bad file name (abc.up.sql)",
    files: { ...GOOD, "abc.up.sql": "select 1;\n" },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_BAD_NAME",
    message: [/abc\.up\.sql: migration file names must look like/],
  },
  {
    name: "bad file name (004-create.up.sql)",
    files: { ...GOOD, "004-create.up.sql": "select 1;\n" },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_BAD_NAME",
    message: [/004-create\.up\.sql: migration file names must look like/],
  },
  {
    name: "down file without up file",
    files: { ...GOOD, "004_orphan.down.sql": "select 1;\n" },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_ORPHAN_DOWN",
    message: [/004_orphan\.down\.sql has no matching 004_orphan\.up\.sql/],
  },
  {
    name: "non-UTF-8 file",
    files: { ...GOOD, "004_latin1.up.sql": Buffer.from([0xff, 0xfe, 0x41, 0x80, 0xc3, 0x28, 0x0a]) },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_NOT_UTF8",
    message: [/004_latin1\.up\.sql is not valid UTF-8/],
  },
  {
    name: "empty migration (only comments)",
    files: { ...GOOD, "004_empty.up.sql": "-- nothing here yet\n\n/* still nothing */\n" },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_EMPTY",
    message: [/004_empty\.up\.sql contains no SQL statements/],
  },
  {
    name: "SQL syntax error (names file and line)",
    files: {
      ...GOOD,
      "004_syntax.up.sql": `create table ${SCHEMA}.s1 (id int);\n\ncreate tabel ${SCHEMA}.s2 (id int);\n`,
    },
    args: ["migrate", "up"],
    exit: 1,
    code: "MIGRATION_SYNTAX_ERROR",
    message: [/004_syntax\.up\.sql:3\b/, /syntax error at or near "tabel"/, /Nothing was applied/],
  },
  {
    name: "SQL runtime error (names file and line; its first statement is rolled back)",
    files: {
      "003_runtime.up.sql": `create table ${SCHEMA}.rt (id int);\ninsert into ${SCHEMA}.no_such_table values (1);\n`,
    },
    args: ["migrate", "up"],
    exit: 1,
    code: "MIGRATION_FAILED",
    message: [/migration 003_runtime failed at line 2/, /003_runtime\.up\.sql/, /no_such_table.*42P01/],
    auditedOutcome: "failed",
  },
  {
    name: "CREATE INDEX CONCURRENTLY without the no-transaction directive",
    files: { ...GOOD, "004_index.up.sql": `create index concurrently base_id_idx on ${SCHEMA}.base (id);\n` },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_NEEDS_NO_TRANSACTION",
    message: [/004_index\.up\.sql:1: CREATE INDEX CONCURRENTLY/, /-- confiture:no-transaction/],
  },
  {
    name: "VACUUM without the no-transaction directive",
    files: { ...GOOD, "004_vacuum.up.sql": `select 1;\nvacuum ${SCHEMA}.base;\n` },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_NEEDS_NO_TRANSACTION",
    message: [/004_vacuum\.up\.sql:2: VACUUM/, /-- confiture:no-transaction/],
  },
  {
    name: "unknown directive -- confiture:foo",
    files: { ...GOOD, "004_directive.up.sql": "-- confiture:foo\nselect 1;\n" },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_UNKNOWN_DIRECTIVE",
    message: [/004_directive\.up\.sql: unknown directive "-- confiture:foo"/],
  },
  {
    name: "COMMIT inside a transactional migration",
    files: { ...GOOD, "004_commit.up.sql": `create table ${SCHEMA}.c (id int);\ncommit;\n` },
    args: ["migrate", "up"],
    exit: 2,
    code: "MIGRATION_TRANSACTION_CONTROL",
    message: [/004_commit\.up\.sql:2: COMMIT is not allowed/],
  },
  // --- connecting -------------------------------------------------------------------------------
  // The config still names the reachable database with GOOD pending: if a flag or variable did not
  // take precedence, the snapshot would show it applied.
  {
    name: "unreachable host (nothing listening on the port)",
    files: GOOD,
    args: ["migrate", "up", "--database-url", "<closed>"],
    exit: 5,
    code: "CONNECTION_FAILED",
    message: [
      /cannot connect to postgres:\/\/confiture_test:\*\*\*@127\.0\.0\.1:\d+\//,
      /connection refused/,
    ],
  },
  {
    name: "unknown host name",
    files: GOOD,
    env: (c) => ({ DATABASE_URL: urlOnHost(c, "no-such-host.invalid") }),
    args: ["migrate", "up"],
    exit: 5,
    code: "CONNECTION_FAILED",
    message: [/confiture_test:\*\*\*@no-such-host\.invalid/, /unknown host no-such-host\.invalid/],
  },
  {
    name: "wrong password",
    files: GOOD,
    env: (c) => ({ DATABASE_URL: urlWithPassword(c.url, WRONG_PASSWORD) }),
    args: ["migrate", "up"],
    exit: 5,
    code: "CONNECTION_FAILED",
    message: [/confiture_test:\*\*\*@/, /password authentication failed.*28P01/],
    secrets: [WRONG_PASSWORD],
  },
  {
    name: "wrong password with a space and a quote (not percent-encoded by the user)",
    files: GOOD,
    env: (c) => ({ DATABASE_URL: urlWithPassword(c.url, SPACED_PASSWORD) }),
    args: ["migrate", "up"],
    exit: 5,
    code: "CONNECTION_FAILED",
    message: [/confiture_test:\*\*\*@/, /28P01/],
    // The URL carries it percent-encoded (leak%20me%20'now'): no form of it may appear.
    secrets: [SPACED_PASSWORD, "leak"],
  },
  {
    name: "malformed database URL (port is not a number)",
    files: GOOD,
    env: () => ({ DATABASE_URL: `postgres://confiture_test:${SENTINEL_PASSWORD}@127.0.0.1:notaport/db` }),
    args: ["migrate", "up"],
    exit: 2,
    code: "CONFIG_INVALID",
    message: [/the database URL from DATABASE_URL is not a valid postgres:\/\/ URL/],
  },
  {
    name: "missing database",
    files: GOOD,
    args: ["migrate", "status", "--database-url", "<missing-db>"],
    exit: 5,
    code: "CONNECTION_FAILED",
    message: [/database "t_no_such_database_x" does not exist.*3D000/],
  },
  // --- commands and flags -----------------------------------------------------------------------
  {
    name: "down --steps 1 when the newest migration has no down file",
    files: { "002_second.down.sql": null },
    args: ["migrate", "down", "--steps", "1"],
    exit: 1,
    code: "NO_DOWN_FILE",
    message: [/002_second has no down file/, /Nothing was rolled back/],
  },
  {
    name: "down --steps 2: the older one has no down file, so the newer one is not rolled back either",
    args: ["migrate", "down", "--steps", "2"],
    exit: 1,
    code: "NO_DOWN_FILE",
    message: [/001_base has no down file/, /Nothing was rolled back/],
  },
  {
    name: "up --target that does not exist",
    files: GOOD,
    args: ["migrate", "up", "--target", "999_nope"],
    exit: 2,
    code: "MIGRATION_NOT_FOUND",
    message: [/target "999_nope" does not exist/],
  },
  {
    name: "down --target that is not applied",
    args: ["migrate", "down", "--target", "999_nope"],
    exit: 2,
    code: "MIGRATION_NOT_FOUND",
    message: [/target "999_nope" is not an applied migration/],
  },
  {
    name: "down with neither --steps nor --target",
    args: ["migrate", "down"],
    exit: 2,
    code: "USAGE",
    message: [/give exactly one of --steps N or --target ID/],
  },
  {
    name: "down --steps 0",
    args: ["migrate", "down", "--steps", "0"],
    exit: 2,
    code: "USAGE",
    message: [/--steps must be a whole number of at least 1/],
  },
  {
    name: "down --steps abc",
    args: ["migrate", "down", "--steps", "abc"],
    exit: 2,
    code: "USAGE",
    message: [/--steps must be a whole number \(got "abc"\)/],
  },
  {
    name: "resolve on a migration that is not failed",
    args: ["migrate", "resolve", "001_base", "--applied"],
    exit: 2,
    code: "USAGE",
    message: [/001_base is recorded as applied, not failed/],
  },
  {
    name: "resolve with both --applied and --rolled-back",
    args: ["migrate", "resolve", "002_second", "--applied", "--rolled-back"],
    exit: 2,
    code: "USAGE",
    message: [/give exactly one of --applied or --rolled-back/],
  },
  {
    name: "unknown command",
    files: GOOD,
    args: ["frobnicate"],
    exit: 2,
    code: "USAGE",
    message: [/unknown command 'frobnicate'/],
  },
  {
    name: "unknown option",
    files: GOOD,
    args: ["migrate", "up", "--frobnicate"],
    exit: 2,
    code: "USAGE",
    message: [/unknown option '--frobnicate'/],
  },
  {
    name: "migrate checksum of a non-existent id",
    args: ["migrate", "checksum", "999_nope"],
    exit: 2,
    code: "MIGRATION_NOT_FOUND",
    message: [/migration "999_nope" does not exist/],
  },
  {
    name: "protected environment: down without --force and without a TTY",
    config: (c) => defaultConfig(c, "environments:\n  production:\n    protected: true\n"),
    args: ["-e", "production", "migrate", "down", "--steps", "1"],
    exit: 2,
    code: "PROTECTED_ENVIRONMENT",
    message: [/environment "production" \(postgres:\/\/[^)]*\) is protected/, /--force/],
  },
];

/** Placeholders in args, resolved once the database exists. */
function resolveArgs(args: string[]): string[] {
  return args.map((a) => {
    if (a === "<url>") return ctx.url;
    if (a === "<closed>") return urlOnPort(ctx, ctx.closedPort);
    if (a === "<missing-db>") return urlForDatabase(ctx.url, "t_no_such_database_x");
    return a;
  });
}

/** What must not change: relations and schemas, tracking rows, and the audit table. */
interface Snapshot {
  relations: string[];
  tracking: Record<string, unknown>[];
  events: { id: string; outcome: string; details: string }[];
}

let db: TestDatabase;
const projects: TestProject[] = [];

async function snapshot(): Promise<Snapshot> {
  const relations = await db.query<{ r: string }>(
    `select n.nspname || '.' || coalesce(c.relname, '') || ':' || coalesce(c.relkind::text, 'schema') as r
       from pg_namespace n left join pg_class c on c.relnamespace = n.oid
      where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
      order by 1`,
  );
  const tracking = await db.query(
    `select version, name, checksum, applied_at::text, execution_ms, applied_by, status, error
       from ${SCHEMA}.confiture_migrations order by version`,
  );
  const events = await db.query<{ id: string; outcome: string; details: string }>(
    `select id::text, outcome, details::text from ${SCHEMA}.confiture_events order by id`,
  );
  return { relations: relations.rows.map((x) => x.r), tracking: tracking.rows, events: events.rows };
}

async function projectFor(c: Case): Promise<TestProject> {
  const config = c.config ? c.config(ctx) : defaultConfig(ctx);
  const files: Record<string, string | Buffer | null> = { ...BASE, ...c.files };
  const project = await makeProject(config === null ? {} : { config });
  projects.push(project);
  for (const [name, content] of Object.entries(files)) {
    if (content !== null) await writeFile(project.path(`db/migrations/${name}`), content);
  }
  return project;
}

beforeAll(async () => {
  db = await createTestDatabase("bad input");
  ctx.url = db.url;
  ctx.closedPort = await closedPort();
  expect(decodeURIComponent(new URL(ctx.url).password)).toBe(SENTINEL_PASSWORD);
  const base = await makeProject({ config: defaultConfig(ctx), migrations: BASE });
  projects.push(base);
  const r = await runCli(["migrate", "up"], { cwd: base.dir });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const s = await snapshot();
  expect(s.tracking.map((row) => row.version)).toEqual(["001_base", "002_second"]);
  expect(s.relations).toContain(`${SCHEMA}.second:r`);
});

afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db?.drop();
});

/** The database after a run equals the one before, except for an expected audit row. */
function expectUnchanged(before: Snapshot, after: Snapshot, c: Case): void {
  expect(after.relations).toEqual(before.relations);
  expect(after.tracking).toEqual(before.tracking);
  const added = after.events.slice(before.events.length);
  expect(after.events.slice(0, before.events.length)).toEqual(before.events);
  if (c.auditedOutcome) {
    expect(added.map((e) => e.outcome)).toEqual([c.auditedOutcome]);
  } else {
    expect(added).toEqual([]);
  }
  for (const e of added) expect(e.details).not.toContain(SENTINEL_PASSWORD);
}

function expectNoSecrets(text: string, c: Case): void {
  expect(text).not.toContain(SENTINEL_PASSWORD);
  expect(text).not.toContain(encodeURIComponent(SENTINEL_PASSWORD));
  for (const secret of c.secrets ?? []) expect(text).not.toContain(secret);
}

describe("bad input: one error line, the SPEC exit code, no password, nothing changed", () => {
  it("covers at least 25 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(25);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES)("$name -> exit $exit", async (c) => {
    const project = await projectFor(c);
    const opts = { cwd: project.dir, env: c.env?.(ctx) ?? {} };
    const args = resolveArgs(c.args);
    // Every case hands the CLI a URL carrying the sentinel (config file, flag or variable).
    const config = c.config ? c.config(ctx) : defaultConfig(ctx);
    expect(`${config}\n${args.join(" ")}\n${JSON.stringify(opts.env)}`).toContain(SENTINEL_PASSWORD);

    // Text mode: nothing on stdout, exactly one line on stderr.
    const before = await snapshot();
    const text = await runCli(args, opts);
    expectNoSecrets(text.stdout + text.stderr, c);
    expect(text.signal).toBeNull();
    expect(text.stdout).toBe("");
    const lines = text.stderr.split("\n");
    expect(lines, text.stderr).toHaveLength(2);
    expect(lines[1]).toBe("");
    const line = lines[0]!;
    expect(line).toMatch(/^error: \S/);
    expect(line).not.toMatch(/\bat .*:\d+:\d+\)?$|internal error/);
    for (const re of c.message) expect(line).toMatch(re);
    expect(text.code, text.stderr).toBe(c.exit);
    const afterText = await snapshot();
    expectUnchanged(before, afterText, c);
    // Validation comes first: a valid migration pending before the bad one did not run either.
    if (c.files?.["003_good.up.sql"]) expect(afterText.relations).not.toContain(`${SCHEMA}.good:r`);

    // JSON mode: exactly one JSON document on stdout, nothing on stderr, same exit code.
    const json = await runCli([...args, "--format", "json"], opts);
    expectNoSecrets(json.stdout + json.stderr, c);
    expect(json.stderr).toBe("");
    const doc = JSON.parse(json.stdout) as { ok: unknown; error?: { code?: unknown; message?: unknown } };
    expect(doc.ok).toBe(false);
    expect(doc.error?.code).toBe(c.code);
    expect(typeof doc.error?.message).toBe("string");
    expect(`error: ${doc.error?.message}`).toBe(line);
    expect(json.code).toBe(c.exit);
    expectUnchanged(afterText, await snapshot(), c);
  });
});
