/**
 * `confiture migrate status | head`: the reader goes away before the CLI writes. That must not
 * turn into a stack trace or a failure exit code.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_BIN, cliEnv } from "../support/cli.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
let project: TestProject;

beforeAll(async () => {
  db = await createTestDatabase("closed pipe");
  project = await makeProject({ migrations: { "001_a.up.sql": "create table a (id int);" } });
});
afterAll(async () => {
  await project?.cleanup();
  await db?.drop();
});

describe("closed stdout", () => {
  it("exits 0 without a stack trace when the reader closes the pipe first", async () => {
    const child = spawn(process.execPath, [CLI_BIN, "migrate", "status"], {
      cwd: project.dir,
      env: cliEnv({ DATABASE_URL: db.url }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Like `head` exiting: the read end is closed before the CLI has written anything.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(stderr).not.toContain("EPIPE");
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(code).toBe(0);
  });
});
