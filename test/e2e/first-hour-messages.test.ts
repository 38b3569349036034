// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is confiture.yaml syntax.
/**
 * The first hour's messages (issue 7, items 4 and 5), end to end through the built CLI against
 * the harness's password-authenticated role: no password given, a wrong one (the hint names where
 * the URL and the password came from, and says nothing twice), a password from ~/.pgpass (nothing
 * on stderr but Confiture's own lines), no confiture.yaml in the working directory, and a
 * confiture.yaml that is a directory.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../support/cli.js";
import {
  createTestDatabase,
  SENTINEL_PASSWORD,
  TEST_ROLE,
  type TestDatabase,
  urlWithPassword,
} from "../support/database.js";
import { expectJson } from "../support/e2e.js";
import { makeProject, type TestProject } from "../support/project.js";

const WRONG_PASSWORD = "WRONG-pw-7h2m";

let db: TestDatabase;
/** The test database's URL without any password. */
let noPasswordUrl: string;
const temps: string[] = [];
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("first hour messages");
  noPasswordUrl = urlWithPassword(db.url, "");
  expect(noPasswordUrl).not.toContain(SENTINEL_PASSWORD);
  expect(new URL(noPasswordUrl).username).toBe(TEST_ROLE);
});

afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
  await db?.drop();
});

/** A fresh directory to serve as HOME: no ~/.pgpass unless `pgpass` is given. */
async function home(pgpass?: { content: string; mode: number }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "confiture-home-"));
  temps.push(dir);
  if (pgpass !== undefined) {
    await writeFile(join(dir, ".pgpass"), pgpass.content);
    await chmod(join(dir, ".pgpass"), pgpass.mode);
  }
  return dir;
}

/** A project with db/migrations/ and the given confiture.yaml (none when undefined). */
async function project(config?: string): Promise<TestProject> {
  const p = await makeProject(config === undefined ? {} : { config });
  projects.push(p);
  return p;
}

async function run(cwd: string, args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  const r = await runCli(args, { cwd, env });
  expect(r.stdout + r.stderr).not.toContain(SENTINEL_PASSWORD);
  expect(r.stdout + r.stderr).not.toContain(WRONG_PASSWORD);
  return r;
}

/** The one stderr line of a failed text-mode run, with nothing on stdout. */
function errorLine(r: CliResult, exit: number): string {
  expect(r.code, r.stderr).toBe(exit);
  expect(r.stdout).toBe("");
  const lines = r.stderr.split("\n");
  expect(lines, r.stderr).toHaveLength(2);
  expect(lines[1]).toBe("");
  expect(lines[0]).toMatch(/^error: \S/);
  return lines[0]!;
}

/** How often `needle` occurs in `text`. */
function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** No phrase of four or more words occurs twice in `line`. */
function expectNoRepeatedPhrase(line: string): void {
  const words = line
    .toLowerCase()
    .split(/[^a-z0-9_~]+/)
    .filter(Boolean);
  const seen = new Set<string>();
  for (let i = 0; i + 4 <= words.length; i++) {
    const phrase = words.slice(i, i + 4).join(" ");
    expect(seen.has(phrase), `"${phrase}" repeated in: ${line}`).toBe(false);
    seen.add(phrase);
  }
}

describe("no password, a wrong password, ~/.pgpass", () => {
  it("no password for a server that asks for one: says so and the three ways to give one, exit 5", async () => {
    const p = await project();
    const env = { DATABASE_URL: noPasswordUrl, HOME: await home() };
    const line = errorLine(await run(p.dir, ["migrate", "status"], env), 5);
    expect(line).toContain(`requires a password for user "${TEST_ROLE}"`);
    expect(line).toContain("no password was given");
    expect(line).toMatch(/in the URL/);
    expect(line).toContain("PGPASSWORD");
    expect(line).toContain("~/.pgpass");
    expect(line).toContain("DATABASE_URL");
    expect(line).not.toMatch(/SASL|SCRAM|must be a string/);
    expectNoRepeatedPhrase(line);

    const json = expectJson(await run(p.dir, ["migrate", "status", "--format", "json"], env), 5, false);
    expect(json.error?.code).toBe("CONNECTION_FAILED");
    expect(`error: ${json.error?.message}`).toBe(line);
    expect(json.error?.message).not.toMatch(/SASL|SCRAM/);
  });

  it("a ~/.pgpass without a line for this server: still a password-required error, saying so", async () => {
    const p = await project();
    const h = await home({ content: `elsewhere:5432:*:${TEST_ROLE}:${SENTINEL_PASSWORD}\n`, mode: 0o600 });
    const line = errorLine(
      await run(p.dir, ["migrate", "status"], { DATABASE_URL: noPasswordUrl, HOME: h }),
      5,
    );
    expect(line).toContain(`requires a password for user "${TEST_ROLE}"`);
    expect(line).toContain("~/.pgpass (it has none for this server, database and user)");
    expectNoRepeatedPhrase(line);
  });

  it("a wrong password from --database-url names --database-url, once, without repeating itself", async () => {
    const p = await project();
    const env = { HOME: await home() };
    const args = ["migrate", "status", "--database-url", urlWithPassword(db.url, WRONG_PASSWORD)];
    const line = errorLine(await run(p.dir, args, env), 5);
    expect(line).toContain(`${TEST_ROLE}:***@`);
    expect(line).toContain("28P01");
    expect(count(line, "password authentication failed")).toBe(1);
    expect(line).toContain("--database-url");
    expect(line).not.toMatch(/DATABASE_URL|confiture\.yaml/);
    expectNoRepeatedPhrase(line);
  });

  it("a wrong password from DATABASE_URL names DATABASE_URL, not the other sources", async () => {
    const p = await project();
    const env = { DATABASE_URL: urlWithPassword(db.url, WRONG_PASSWORD), HOME: await home() };
    const line = errorLine(await run(p.dir, ["migrate", "status"], env), 5);
    expect(count(line, "password authentication failed")).toBe(1);
    expect(line).toContain("DATABASE_URL");
    expect(line).not.toMatch(/--database-url|confiture\.yaml/);
    expectNoRepeatedPhrase(line);
  });

  it("a wrong password from database_url in confiture.yaml names that key and file", async () => {
    const p = await project(`database_url: ${urlWithPassword(db.url, WRONG_PASSWORD)}\n`);
    const line = errorLine(await run(p.dir, ["migrate", "status"], { HOME: await home() }), 5);
    expect(count(line, "password authentication failed")).toBe(1);
    expect(line).toContain("database_url in confiture.yaml");
    expect(line).not.toMatch(/DATABASE_URL|--database-url/);
    expectNoRepeatedPhrase(line);
  });

  it("a wrong PGPASSWORD (the URL has none) names PGPASSWORD", async () => {
    const p = await project();
    const env = { DATABASE_URL: noPasswordUrl, PGPASSWORD: WRONG_PASSWORD, HOME: await home() };
    const line = errorLine(await run(p.dir, ["migrate", "status"], env), 5);
    expect(count(line, "password authentication failed")).toBe(1);
    expect(line).toContain("PGPASSWORD");
    expectNoRepeatedPhrase(line);
  });

  it("a password from ~/.pgpass (0600) connects, and stderr stays empty", async () => {
    const u = new URL(db.url);
    const content =
      "# host:port:database:user:password\n" +
      `otherhost:1:x:y:nope\n${u.hostname}:${u.port}:${db.name}:${TEST_ROLE}:${SENTINEL_PASSWORD}\n`;
    const p = await project();
    const env = { DATABASE_URL: noPasswordUrl, HOME: await home({ content, mode: 0o600 }) };
    const r = await run(p.dir, ["migrate", "status"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\S/);
    const json = expectJson(await run(p.dir, ["migrate", "status", "--format", "json"], env), 0, true);
    expect(json.ok).toBe(true);

    // A changing command too: its stderr carries Confiture's own lines only, never Node's.
    await p.write("db/migrations/001_pgpass.up.sql", "create table first_hour_pgpass (id int);\n");
    const up = await run(p.dir, ["migrate", "up"], env);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("001_pgpass");
    expect(up.stderr).not.toMatch(/DeprecationWarning|\(node:\d+\)|WARNING|pgpass/);
    expect((await db.query("select to_regclass('first_hour_pgpass') as t")).rows[0]?.t).toBe(
      "first_hour_pgpass",
    );
  });

  it("a wildcard ~/.pgpass line with a wrong password: the hint names the file, stderr is one line", async () => {
    const p = await project();
    const h = await home({ content: `*:*:*:${TEST_ROLE}:${WRONG_PASSWORD}\n`, mode: 0o600 });
    const line = errorLine(
      await run(p.dir, ["migrate", "status"], { DATABASE_URL: noPasswordUrl, HOME: h }),
      5,
    );
    expect(count(line, "password authentication failed")).toBe(1);
    expect(line).toContain(join(h, ".pgpass"));
    expectNoRepeatedPhrase(line);
  });

  it("a ~/.pgpass others can read is ignored, and the error says why (no stray warning line)", async () => {
    const u = new URL(db.url);
    const content = `${u.hostname}:${u.port}:*:${TEST_ROLE}:${SENTINEL_PASSWORD}\n`;
    const p = await project();
    const h = await home({ content, mode: 0o644 });
    const line = errorLine(
      await run(p.dir, ["migrate", "status"], { DATABASE_URL: noPasswordUrl, HOME: h }),
      5,
    );
    expect(line).toContain(`requires a password for user "${TEST_ROLE}"`);
    expect(line).toContain(join(h, ".pgpass"));
    expect(line).toMatch(/chmod 600/);
    expect(line).not.toMatch(/SASL|WARNING/);
  });
});

describe("no confiture.yaml", () => {
  it("an empty directory: says no confiture.yaml was found here, how to use -c, then what else is missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "confiture-empty-"));
    temps.push(dir);
    const env = { DATABASE_URL: db.url, HOME: await home() };
    const line = errorLine(await run(dir, ["migrate", "status"], env), 2);
    expect(line).toMatch(/^error: no confiture\.yaml (was )?found in /);
    expect(line).toContain(dir);
    expect(line).toMatch(/-c FILE/);
    expect(line).toContain("confiture init");
    expect(line).toMatch(/the migrations directory is \.\/db\/migrations, which does not exist/);
    expect(line.indexOf("confiture.yaml")).toBeLessThan(line.indexOf("db/migrations"));
    expectNoRepeatedPhrase(line);

    const json = expectJson(await run(dir, ["migrate", "status", "--format", "json"], env), 2, false);
    expect(json.error?.code).toBe("MIGRATIONS_DIR_MISSING");
  });

  it("a config file that exists but whose migrations directory does not: names that file, not -c", async () => {
    const p = await project("schema: public\n");
    await rm(p.path("db/migrations"), { recursive: true });
    const line = errorLine(await run(p.dir, ["migrate", "status"], { DATABASE_URL: db.url }), 2);
    expect(line).toContain(`migrations directory ${p.path("db/migrations")} does not exist`);
    expect(line).toContain(p.path("confiture.yaml"));
    expect(line).not.toContain("no confiture.yaml");
  });

  it("a confiture.yaml that is a directory is a config error naming it (exit 2), not ignored", async () => {
    const p = await project();
    await mkdir(p.path("confiture.yaml"));
    const env = { DATABASE_URL: db.url };
    const line = errorLine(await run(p.dir, ["migrate", "status"], env), 2);
    expect(line).toContain(p.path("confiture.yaml"));
    expect(line).toMatch(/is a directory/);
    expect(line).toMatch(/-c FILE/);

    const json = expectJson(await run(p.dir, ["migrate", "status", "--format", "json"], env), 2, false);
    expect(json.error?.code).toBe("CONFIG_INVALID");
  });
});
