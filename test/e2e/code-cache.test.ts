/**
 * The CLI's compile cache (src/cli/load-cli.ts) is only an optimisation: it is written to the
 * user's cache directory, reused, replaced when damaged or stale, skipped when the directory
 * cannot be written, and the command's output is the same in every case.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
let project: TestProject;
let home: string;
let expected: string;

const status = async (env: Record<string, string | undefined>) => {
  const r = await runCli(["migrate", "status"], { cwd: project.dir, env: { DATABASE_URL: db.url, ...env } });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
};
const cacheFiles = async (dir: string) =>
  (await readdir(join(dir, "confiture")).catch(() => [] as string[])).filter((f) => f.startsWith("cli-"));

beforeAll(async () => {
  db = await createTestDatabase("code cache");
  project = await makeProject({ migrations: { "001_a.up.sql": "create table a (id int);" } });
  home = await mkdtemp(join(tmpdir(), "confiture-cache-"));
  await runCli(["migrate", "up"], { cwd: project.dir, env: { DATABASE_URL: db.url } });
  expected = await status({ XDG_CACHE_HOME: join(home, "reference") });
  expect(expected).toMatch(/001_a\s+applied/);
});
afterAll(async () => {
  await project?.cleanup();
  await db?.drop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("the compile cache", () => {
  it("is written once to $XDG_CACHE_HOME/confiture and then reused, not rewritten", async () => {
    const dir = join(home, "xdg");
    expect(await status({ XDG_CACHE_HOME: dir })).toBe(expected);
    const [file] = await cacheFiles(dir);
    expect(file).toMatch(/^cli-[0-9a-f]{24}-v\d+\.\d+\.\d+-\w+\.v8$/);
    const path = join(dir, "confiture", file as string);
    const first = await stat(path);
    expect(first.mode & 0o777).toBe(0o600);
    expect(await status({ XDG_CACHE_HOME: dir })).toBe(expected);
    const second = await stat(path);
    expect(second.ino).toBe(first.ino);
    expect(second.mtimeMs).toBe(first.mtimeMs);
    expect(await cacheFiles(dir)).toEqual([file]);
  });

  it("a damaged cache is rejected, the command runs the same, and the cache is replaced", async () => {
    const dir = join(home, "damaged");
    await status({ XDG_CACHE_HOME: dir });
    const [file] = await cacheFiles(dir);
    const path = join(dir, "confiture", file as string);
    const garbage = Buffer.alloc((await stat(path)).size, 0x5a);
    await writeFile(path, garbage);
    expect(await status({ XDG_CACHE_HOME: dir })).toBe(expected);
    expect((await readFile(path)).equals(garbage)).toBe(false);
  });

  it("a cache directory that cannot be created changes nothing: same output, nothing on stderr", async () => {
    const blocker = join(home, "not-a-directory");
    await writeFile(blocker, "a file where the cache directory would go\n");
    expect(await status({ XDG_CACHE_HOME: blocker })).toBe(expected);
    expect(await readFile(blocker, "utf8")).toBe("a file where the cache directory would go\n");
  });

  it("a relative XDG_CACHE_HOME is ignored (as the XDG spec says): the cache goes to ~/.cache", async () => {
    const fakeHome = join(home, "home");
    expect(await status({ XDG_CACHE_HOME: "relative-cache", HOME: fakeHome })).toBe(expected);
    expect(await cacheFiles(join(fakeHome, ".cache"))).toHaveLength(1);
    expect(await readdir(project.dir)).not.toContain("relative-cache");
  });
});
