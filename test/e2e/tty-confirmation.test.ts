/**
 * Protected environments at a real terminal: `migrate down` asks for the environment name.
 * util-linux `script` gives the CLI a pseudo-terminal for stdin and stdout, as an operator's
 * shell would; the test answers the prompt through it.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_BIN, cliEnv } from "../support/cli.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
let project: TestProject;

beforeAll(async () => {
  db = await createTestDatabase("tty");
  project = await makeProject({
    config: "schema: tty\nenvironments:\n  production:\n    protected: true\n",
    migrations: {
      "001_a.up.sql": "create table a (id int);",
      "001_a.down.sql": "drop table a;",
    },
  });
});
afterAll(async () => {
  await project?.cleanup();
  await db?.drop();
});

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Run the CLI on a pseudo-terminal, answer the prompt with `answer`, return exit code and screen text. */
function atTerminal(args: string[], answer: string): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, CLI_BIN, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    cwd: project.dir,
    env: cliEnv({ DATABASE_URL: db.url, CI: undefined }),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  let answered = false;
  const onData = (chunk: Buffer) => {
    screen += chunk.toString("utf8");
    if (!answered && screen.includes("Type the environment name")) {
      answered = true;
      child.stdin.write(`${answer}\n`);
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, screen })));
}

async function applied(): Promise<string[]> {
  const r = await db.query<{ version: string }>("select version from tty.confiture_migrations order by 1");
  return r.rows.map((x) => x.version);
}

describe("protected environment at a terminal", () => {
  it("a wrong answer changes nothing (exit 2); typing the environment name rolls back", async () => {
    const up = spawn(process.execPath, [CLI_BIN, "migrate", "up"], {
      cwd: project.dir,
      env: cliEnv({ DATABASE_URL: db.url }),
    });
    expect(await new Promise((r) => up.on("close", r))).toBe(0);
    expect(await applied()).toEqual(["001_a"]);

    await db.query("insert into tty.a values (1), (2), (3)");
    const refused = await atTerminal(["-e", "production", "migrate", "down", "--steps", "1"], "prod");
    expect(refused.screen).toContain('Environment "production" is protected');
    // The question says what is about to happen, to which database: the migrations it rolls
    // back and the tables their down files drop, with their rows.
    expect(refused.screen).toMatch(/Rolling back on postgres:\/\/[^ ]*@127\.0\.0\.1:\d+\/\S+:/);
    expect(refused.screen).toContain("001_a: drops tty.a (3 rows)");
    expect(refused.screen).toContain("not confirmed; nothing was changed");
    expect(refused.code).toBe(2);
    expect(await applied()).toEqual(["001_a"]);

    const confirmed = await atTerminal(["-e", "production", "migrate", "down", "--steps", "1"], "production");
    expect(confirmed.screen).toContain("rolled back 001_a");
    expect(confirmed.code).toBe(0);
    expect(await applied()).toEqual([]);
    const table = await db.query("select to_regclass('tty.a') as t");
    expect(table.rows[0]?.t).toBeNull();
  });
});
