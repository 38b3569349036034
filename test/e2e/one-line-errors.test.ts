/**
 * A text-mode error is exactly one stderr line, whatever the server or a file name contains
 * (issue 6, defect 10): line breaks are escaped as `\n`, other control characters as `\xNN`.
 * `--format json` carries the original message.
 */
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { cliFor, expectJson } from "../support/e2e.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const projects: TestProject[] = [];

beforeAll(async () => {
  db = await createTestDatabase("one line errors");
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db?.drop();
});

async function setup(schema: string, migrations: Record<string, string> = {}) {
  const p = await makeProject({ config: `schema: ${schema}\n`, migrations });
  projects.push(p);
  return { p, cli: cliFor(p.dir, { DATABASE_URL: db.url }) };
}

function oneLine(stderr: string): string {
  const lines = stderr.split("\n");
  expect(lines, stderr).toHaveLength(2);
  expect(lines[1]).toBe("");
  return lines[0]!;
}

describe("errors are one stderr line", () => {
  it("a server message over two lines (raise exception E'first\\nsecond') is escaped; JSON keeps the newline", async () => {
    const { cli } = await setup("ole_raise", {
      "001_raise.up.sql": "do $$ begin raise exception E'first\\nsecond\\r\\u001b[31mthird'; end $$;\n",
    });
    const text = await cli(["migrate", "up"]);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toBe("");
    const line = oneLine(text.stderr);
    expect(line).toMatch(/^error: migration 001_raise failed/);
    expect(line).toContain("first\\nsecond\\r\\x1b[31mthird");
    expect(line).not.toContain("\u001b");

    const json = expectJson(await cli(["migrate", "up", "--format", "json"]), 1, false);
    expect(json.error?.message).toContain("first\nsecond\r\u001b[31mthird");
  });

  it("a migration file whose name contains a newline: exit 2, one line", async () => {
    const { p, cli } = await setup("ole_name");
    await writeFile(p.path("db/migrations/001_a\nb.up.sql"), "select 1;\n");
    const text = await cli(["migrate", "up"]);
    expect(text.code, text.stderr).toBe(2);
    expect(text.stdout).toBe("");
    const line = oneLine(text.stderr);
    expect(line).toMatch(/^error: /);
    expect(line).toContain("001_a\\nb.up.sql");

    const json = expectJson(await cli(["migrate", "up", "--format", "json"]), 2, false);
    expect(json.error?.message).toContain("001_a\nb.up.sql");
  });
});
