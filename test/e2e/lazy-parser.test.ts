/**
 * A command that parses no SQL never loads the SQL parser (libpg-query, WebAssembly: tens of
 * milliseconds to load). Node's own module log (NODE_DEBUG=module, on stderr) shows whether
 * the CLI asked for it; the run that applies a migration is the proof that the log would show it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
let project: TestProject;

const run = (args: string[]) =>
  runCli(args, { cwd: project.dir, env: { DATABASE_URL: db.url, NODE_DEBUG: "module" } });
const loadsParser = (stderr: string) => /Module\._load REQUEST libpg-query\b/.test(stderr);

beforeAll(async () => {
  db = await createTestDatabase("lazy parser");
  project = await makeProject({ migrations: { "001_a.up.sql": "create table a (id int);" } });
});
afterAll(async () => {
  await project?.cleanup();
  await db?.drop();
});

describe("the SQL parser is loaded only by commands that parse SQL", () => {
  it("migrate up with a pending migration loads it (the log shows the load)", async () => {
    const r = await run(["migrate", "up"]);
    expect(r.code).toBe(0);
    expect(loadsParser(r.stderr)).toBe(true);
  });

  it("migrate status and a no-op migrate up do not", async () => {
    const status = await run(["migrate", "status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/001_a\s+applied/);
    expect(loadsParser(status.stderr)).toBe(false);
    const noop = await run(["migrate", "up"]);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toMatch(/^Nothing to apply: 1 migration\(s\) already applied\.$/m);
    expect(loadsParser(noop.stderr)).toBe(false);
  });
});
