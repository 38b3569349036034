/**
 * Input Confiture cannot use, end to end (issue 7, items 8, 9, 10 and 12): migration files that
 * are directories, symbolic link loops, dangling links, unreadable or too large for the SQL
 * parser; migration ids too long for the tracking table (from `migrate generate` and by hand);
 * `init --force` with tracking-table names near PostgreSQL's 63-byte limit; a tracking table
 * named like the events table; a confiture.yaml of megabytes. Each is one clear error line with
 * exit 2 (not `internal error`), or works, and the database is as it should be afterwards.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { CLI_BIN, type CliResult, cliEnv, splitTarget } from "../support/cli.js";
import { SENTINEL_PASSWORD } from "../support/database.js";
import { expectJson, fileDatabase } from "../support/e2e.js";
import { makeProject, type TestProject } from "../support/project.js";

const suite = fileDatabase("unusable input", "lock_timeout: 5s\n");
/** A project whose confiture.yaml manages `schema`, and a CLI bound to it and the test database. */
const setup = suite.project;

async function exists(qualified: string): Promise<boolean> {
  const r = await suite.db.query<{ ok: boolean }>("select to_regclass($1) is not null as ok", [qualified]);
  return r.rows[0]?.ok === true;
}

async function historyVersions(schema: string, table = "confiture_migrations"): Promise<string[]> {
  if (!(await exists(`${schema}.${table}`))) return [];
  const r = await suite.db.query<{ version: string }>(
    `select version from ${schema}.${table} order by version`,
  );
  return r.rows.map((row) => row.version);
}

/** The one `error:` line of a failed text-mode run: nothing else on stderr, nothing on stdout. */
function errorLine(r: CliResult, exit: number): string {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(exit);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toContain("internal error");
  const lines = r.stderr.split("\n");
  expect(lines, r.stderr).toHaveLength(2);
  expect(lines[1]).toBe("");
  expect(lines[0]).toMatch(/^error: /);
  return lines[0]!;
}

/** The good pending migration in front of every bad file: it must not be applied either. */
const good = (s: string) => ({ "001_good.up.sql": `create table ${s}.good (id int);\n` });

describe("unusable migration files are exit 2 naming the file and the reason (item 8)", () => {
  const cases: Array<{
    name: string;
    make: (p: TestProject) => Promise<string>;
    message: RegExp;
  }> = [
    {
      name: "a directory named 003_dir.up.sql",
      make: async (p) => {
        await mkdir(p.path("db/migrations/003_dir.up.sql"));
        return p.path("db/migrations/003_dir.up.sql");
      },
      message: /003_dir\.up\.sql is a directory, not a file/,
    },
    {
      name: "a symbolic link loop",
      make: async (p) => {
        await symlink("003_loop.up.sql", p.path("db/migrations/003_loop.up.sql"));
        return p.path("db/migrations/003_loop.up.sql");
      },
      message: /003_loop\.up\.sql is a symbolic link that never reaches a file \(the links form a loop/,
    },
    {
      name: "a dangling symbolic link",
      make: async (p) => {
        await symlink("../elsewhere/003_gone.sql", p.path("db/migrations/003_gone.up.sql"));
        return p.path("db/migrations/003_gone.up.sql");
      },
      message: /003_gone\.up\.sql is a symbolic link to \.\.\/elsewhere\/003_gone\.sql, which does not exist/,
    },
    {
      name: "a directory named like a down file",
      make: async (p) => {
        await writeFile(p.path("db/migrations/003_d.up.sql"), "select 1;\n");
        await mkdir(p.path("db/migrations/003_d.down.sql"));
        return p.path("db/migrations/003_d.down.sql");
      },
      message: /003_d\.down\.sql is a directory, not a file/,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: up, status and --format json all say so; nothing is applied`, async () => {
      const s = `unusable_${cases.indexOf(c)}`;
      const { p, cli } = await setup(s, good(s));
      const file = await c.make(p);
      const up = errorLine(await cli(["migrate", "up"]), 2);
      expect(up).toContain(file);
      expect(up).toMatch(c.message);
      expect(up).toContain("a migration must be a readable file");
      errorLine(await cli(["migrate", "status"]), 2);
      const json = expectJson(await cli(["migrate", "up", "--format", "json"]), 2, false);
      expect(json.error?.code).toBe("MIGRATION_FILE_INVALID");
      expect(json.error?.message).toMatch(c.message);
      expect(await exists(`${s}.good`)).toBe(false);
      expect(await historyVersions(s)).toEqual([]);
    });
  }

  it("a file the user cannot read: exit 2, permission denied (run as an unprivileged user when the tests run as root)", async () => {
    const s = "unusable_unreadable";
    const { p } = await setup(s, good(s));
    const file = p.path("db/migrations/003_secret.up.sql");
    await writeFile(file, `create table ${s}.secret (id int);\n`);
    await chmod(file, 0o000);
    // root reads anything, so as root the CLI runs as nobody (who can read everything else).
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      for (const dir of [p.dir, p.path("db"), p.path("db/migrations")]) await chmod(dir, 0o755);
    }
    const run = (args: string[]) =>
      runAs(args, p.dir, { DATABASE_URL: suite.db.url, HOME: p.dir }, asRoot ? 65534 : undefined);
    const up = errorLine(await run(["migrate", "up"]), 2);
    expect(up).toBe(
      `error: ${file} cannot be read: permission denied for the user running Confiture; check the file's permissions (e.g. chmod a+r) and those of its directory`,
    );
    const json = expectJson(await run(["migrate", "up", "--format", "json"]), 2, false);
    expect(json.error?.code).toBe("MIGRATION_FILE_INVALID");
    expect(await exists(`${s}.good`)).toBe(false);
    expect(await exists(`${s}.secret`)).toBe(false);
  });

  it("a 50 MB file of 1.75 million statements: one line naming the file, the limit and how to split it", async () => {
    const s = "unusable_huge";
    const { p, cli } = await setup(s, good(s));
    const file = p.path("db/migrations/003_huge.up.sql");
    const parts: string[] = [`create table ${s}.huge (id int);\n`];
    for (let i = 0; i < 1_750_000; i++) parts.push(`insert into ${s}.huge values (${i});\n`);
    await writeFile(file, parts.join(""));
    const started = performance.now();
    const up = errorLine(await cli(["migrate", "up"]), 2);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(up).toMatch(
      new RegExp(
        `^error: ${escapeRegExp(file)} is \\d+\\.\\d MB, larger than the 2 MB Confiture's SQL parser is known to handle .*; ` +
          "split it into several migration files of at most 2 MB each, or load bulk data outside the migration .*Nothing was applied\\.$",
      ),
    );
    const json = expectJson(await cli(["migrate", "up", "--format", "json"]), 2, false);
    expect(json.error?.code).toBe("MIGRATION_FILE_INVALID");
    expect(json.error?.details).toMatchObject({ file, limitBytes: 2 * 1024 * 1024 });
    expect(await exists(`${s}.good`)).toBe(false);
    expect(await exists(`${s}.huge`)).toBe(false);
    await rm(file);
  }, 60_000);

  it("an expression nested too deeply for the parser: exit 2 naming the file, not a stack overflow", async () => {
    const s = "unusable_deep";
    const { p, cli } = await setup(s, good(s));
    const file = p.path("db/migrations/003_deep.up.sql");
    await writeFile(file, `select 1${"+1".repeat(60_000)};\n`);
    const up = errorLine(await cli(["migrate", "up"]), 2);
    expect(up).toContain(`${file} nests expressions too deeply for Confiture's SQL parser`);
    expect(await exists(`${s}.good`)).toBe(false);
  });
});

describe("one rule for migration ids: at most 200 characters (item 9)", () => {
  /** 45 words, 209 characters as a name: the issue's 224-character id. */
  const words = Array.from({ length: 45 }, (_, i) => (i < 30 ? "word" : "abc"));
  const longName = words.join(" ");

  it("migrate generate refuses a 45-word name (a 224-character id) with exit 2 and writes nothing", async () => {
    const { p, cli } = await setup("ids_generate");
    expect(longName.length + 15).toBe(224);
    const r = await cli(["migrate", "generate", longName]);
    const line = errorLine(r, 2);
    expect(line).toMatch(
      /^error: migration name "word_word_.*…" is too long \(209 characters\): the migration id <timestamp>_<name> may have at most 200 characters, so the name at most 185; use a shorter name/,
    );
    const json = expectJson(await cli(["migrate", "generate", longName, "--format", "json"]), 2, false);
    expect(json.error?.code).toBe("BAD_MIGRATION_NAME");
    expect(await readdir(p.path("db/migrations"))).toEqual([]);
  });

  it("a name of 185 characters (a 200-character id) is generated and applied", async () => {
    const s = "ids_longest";
    const { p, cli } = await setup(s);
    const name = "n".repeat(185);
    const gen = await cli(["migrate", "generate", name]);
    expect(gen.code, gen.stderr).toBe(0);
    const [up] = (await readdir(p.path("db/migrations"))).filter((f) => f.endsWith(".up.sql"));
    expect(up).toMatch(new RegExp(`^\\d{14}_${name}\\.up\\.sql$`));
    await writeFile(p.path(`db/migrations/${up}`), `create table ${s}.t (id int);\n`);
    const r = await cli(["migrate", "up"]);
    expect(r.code, r.stderr).toBe(0);
    const versions = await historyVersions(s);
    expect(versions.map((v) => v.length)).toEqual([200]);
  });

  it("a hand-made file whose id has 201 characters: up refuses before anything runs, naming the file", async () => {
    const s = "ids_by_hand";
    const file = `002_${"x".repeat(197)}.up.sql`;
    const { p, cli } = await setup(s, { ...good(s), [file]: `create table ${s}.second (id int);\n` });
    const line = errorLine(await cli(["migrate", "up"]), 2);
    expect(line).toBe(
      `error: ${p.path(`db/migrations/${file}`)}: the migration id "002_${"x".repeat(56)}…" is too long (201 characters; migration ids may have at most 200); rename the file with a shorter name`,
    );
    const json = expectJson(await cli(["migrate", "up", "--format", "json"]), 2, false);
    expect(json.error?.code).toBe("MIGRATION_BAD_NAME");
    expect(await exists(`${s}.good`)).toBe(false);
    expect(await exists(`${s}.second`)).toBe(false);
    expect(await historyVersions(s)).toEqual([]);
  });
});

describe("init --force with long tracking-table names (item 10)", () => {
  for (const length of [45, 55, 63]) {
    it(`a ${length}-character tracking table: init, then init --force three times; every backup and key name fits and differs`, async () => {
      const s = `force_${length}`;
      const table = `t${"x".repeat(length - 1)}`;
      const { cli } = await setup(
        s,
        { "001_a.up.sql": `create table ${s}.a (id int);\n` },
        `tracking_table: ${table}\n`,
      );
      const init = await cli(["init"]);
      expect(init.code, init.stderr).toBe(0);
      const up = await cli(["migrate", "up"]);
      expect(up.code, up.stderr).toBe(0);
      const backups: string[] = [];
      for (let run = 0; run < 3; run++) {
        const r = await cli(["init", "--force"], {});
        expect(r.code, r.stderr).toBe(0);
        const named = /the previous history is kept in (\S+)/.exec(r.stdout)?.[1];
        expect(named, r.stdout).toBeDefined();
        backups.push(named!);
      }
      expect(new Set(backups).size).toBe(3);
      const rels = await suite.db.query<{ relname: string; relkind: string; bytes: number }>(
        `select relname, relkind, octet_length(relname) as bytes from pg_class
          where relnamespace = $1::regnamespace and relkind in ('r', 'i') order by relname`,
        [s],
      );
      const tables = rels.rows.filter((r) => r.relkind === "r").map((r) => r.relname);
      expect(tables.sort()).toEqual([table, "a", "confiture_events", ...backups].sort());
      for (const r of rels.rows) expect(r.bytes, r.relname).toBeLessThanOrEqual(63);
      // Each backup keeps its primary key, renamed to a name of its own.
      const keys = await suite.db.query<{ table: string; key: string }>(
        `select conrelid::regclass::text as table, conname as key from pg_constraint
          where connamespace = $1::regnamespace and contype = 'p'`,
        [s],
      );
      const keyNames = keys.rows.map((k) => k.key);
      expect(new Set(keyNames).size).toBe(keyNames.length);
      for (const b of backups) {
        const key = keys.rows.find((k) => k.table.replace(/^.*\./, "").replace(/"/g, "") === b)?.key;
        expect(key, b).toMatch(/_pkey$/);
        expect(Buffer.byteLength(key!)).toBeLessThanOrEqual(63);
      }
      // The first backup holds the history; the live table starts empty.
      const kept = await suite.db.query<{ version: string }>(`select version from ${s}."${backups[0]}"`);
      expect(kept.rows.map((r) => r.version)).toEqual(["001_a"]);
      expect(await historyVersions(s, table)).toEqual([]);
    }, 60_000);
  }
});

describe("tracking_table cannot be the events table (item 10)", () => {
  it("in confiture.yaml: exit 2 naming the key and the line; nothing is created", async () => {
    const s = "events_clash";
    const { cli } = await setup(s, good(s), "tracking_table: confiture_events\n");
    for (const args of [["init"], ["migrate", "up"], ["migrate", "status"]]) {
      const line = errorLine(await cli(args), 2);
      expect(line).toBe(
        `error: confiture.yaml:3: tracking_table must not be "confiture_events": that is Confiture's events table (the audit log), kept in the same schema; choose another name, e.g. confiture_migrations`,
      );
    }
    const json = expectJson(await cli(["init", "--format", "json"]), 2, false);
    expect(json.error?.code).toBe("CONFIG_INVALID");
    const r = await suite.db.query("select 1 from pg_namespace where nspname = $1", [s]);
    expect(r.rowCount).toBe(0);
  });

  it("in an environment that is not selected, and from CONFITURE_TRACKING_TABLE", async () => {
    const s = "events_clash_env";
    const { cli } = await setup(
      s,
      good(s),
      "environments:\n  staging:\n    tracking_table: confiture_events\n",
    );
    const line = errorLine(await cli(["migrate", "up"]), 2);
    expect(line).toMatch(
      /^error: confiture\.yaml:5: environments\.staging\.tracking_table must not be "confiture_events"/,
    );
    const { cli: plain } = await setup(s, good(s));
    const fromVariable = errorLine(
      await plain(["migrate", "up"], { CONFITURE_TRACKING_TABLE: "confiture_events" }),
      2,
    );
    expect(fromVariable).toMatch(/^error: CONFITURE_TRACKING_TABLE must not be "confiture_events"/);
    expect(await exists(`${s}.good`)).toBe(false);
  });
});

describe("large confiture.yaml (item 12)", () => {
  const environments = (n: number) => {
    const parts = [`schema: large_config\nenvironments:\n`];
    for (let i = 0; i < n; i++) {
      parts.push(`  env${i}:\n    database_url: postgres://app@db${i}.internal/app\n    lock_timeout: 5s\n`);
    }
    return parts.join("");
  };

  it("64,000 environments (5.3 MB): refused at once with exit 2 and the size limit", async () => {
    const p = await makeProject({ config: environments(64_000) });
    suite.track(p);
    const started = performance.now();
    const r = await runCliIn(p.dir, ["config", "show"]);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(errorLine(r, 2)).toMatch(
      /^error: config file confiture\.yaml is 5\.3 MB, larger than the 128 KB a config file may have .*pass the right file with -c\/--config$/,
    );
  });

  it("1,500 environments (under the 128 KB limit) load, and a duplicate key at the end is still found with its line", async () => {
    const text = environments(1_500);
    expect(text.length).toBeLessThan(128 * 1024);
    const p = await makeProject({ config: text });
    suite.track(p);
    const r = await runCliIn(p.dir, ["config", "show", "-e", "env1499", "--format", "json"]);
    const doc = expectJson(r, 0, true);
    expect(JSON.stringify(doc)).toContain("db1499.internal");

    await writeFile(p.path("confiture.yaml"), `${text}  env7:\n    protected: true\n`);
    const dup = errorLine(await runCliIn(p.dir, ["config", "show"]), 2);
    // Two header lines, three per environment, then the repeated key.
    expect(dup).toMatch(
      new RegExp(`^error: confiture\\.yaml:${2 + 3 * 1_500 + 1}: invalid YAML: Map keys must be unique`),
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function runCliIn(cwd: string, args: string[]): Promise<CliResult> {
  return runAs(args, cwd, {}, undefined);
}

/** Run the built CLI, as another user when `uid` is given (the tests may run as root). */
function runAs(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  uid: number | undefined,
): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd,
    env: cliEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const { rest } = splitTarget(stderr);
      expect(stdout + stderr).not.toContain(SENTINEL_PASSWORD);
      resolve({ code, signal, stdout, stderr: rest });
    });
  });
}
