/**
 * What `npm pack` ships is what users run: the packed tarball, unpacked, runs `migrate up` and
 * `migrate status` against a real database from its own bundled CLI; its library entry
 * type-checks in a consumer project through the shipped `.d.ts`; `--debug` stack traces name
 * the src/ files through the shipped source maps.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runCli } from "../support/cli.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { makeProject, type TestProject } from "../support/project.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
let db: TestDatabase;
let project: TestProject;
let work: string;
let packed: string; // the unpacked tarball: <work>/package
let files: string[];

beforeAll(async () => {
  db = await createTestDatabase("package");
  project = await makeProject({
    migrations: { "001_a.up.sql": "create table a (id int);\ninsert into a values (1);" },
  });
  work = await mkdtemp(join(tmpdir(), "confiture-pack-"));
  // --ignore-scripts: the test packs what `npm run build` (the test script) already built.
  const out = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
    cwd: repo,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (info === undefined) throw new Error(`npm pack printed no package: ${out}`);
  files = info.files.map((f) => f.path);
  execFileSync("tar", ["-xzf", join(work, info.filename), "-C", work]);
  packed = join(work, "package");
  // The dependencies npm would install next to it: the repository's own.
  await symlink(join(repo, "node_modules"), join(packed, "node_modules"), "dir");
}, 120_000);

afterAll(async () => {
  await project?.cleanup();
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("the published package", () => {
  it("ships the bundled CLI, the library's .d.ts and source maps, and no sources or tests", async () => {
    const pkg = JSON.parse(await readFile(join(packed, "package.json"), "utf8")) as {
      bin: { confiture: string };
      types: string;
      exports: { ".": { import: string; types: string } };
    };
    const bin = pkg.bin.confiture.replace(/^\.\//, "");
    expect(files).toContain(bin);
    expect(files).toContain(pkg.types.replace(/^\.\//, ""));
    expect(files).toContain(pkg.exports["."].import.replace(/^\.\//, ""));
    expect(files.some((f) => f.endsWith(".js.map"))).toBe(true);
    expect(files.filter((f) => /^(src|test|bench)\//.test(f))).toEqual([]);
    // Bundled: the shipped JavaScript imports no package but the WebAssembly SQL parser.
    const imported = new Set<string>();
    for (const f of files.filter((f) => f.endsWith(".js"))) {
      const text = await readFile(join(packed, f), "utf8");
      for (const m of text.matchAll(
        /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\(\s*)["']([^"'./][^"']*)["']/g,
      )) {
        const name = m[1] as string;
        if (!name.startsWith("node:")) imported.add(name);
      }
    }
    expect([...imported].filter((n) => !["libpg-query"].includes(n))).toEqual([]);
  });

  it("runs migrate up and status from the unpacked tarball against a real database", async () => {
    const pkg = JSON.parse(await readFile(join(packed, "package.json"), "utf8")) as {
      bin: { confiture: string };
    };
    const bin = join(packed, pkg.bin.confiture);
    const env = cliEnv({ DATABASE_URL: db.url });
    const run = (args: string[]) =>
      execFileSync(process.execPath, [bin, ...args], { cwd: project.dir, env, encoding: "utf8" });
    expect(run(["migrate", "up"])).toMatch(/^applied 001_a \(\d+ ms\)$/m);
    expect(run(["migrate", "status"])).toMatch(/001_a\s+applied/);
    const { rows } = await db.query("select count(*)::int as n from a");
    expect(rows[0]?.n).toBe(1);
  });

  it("type-checks a consumer of the library through the shipped .d.ts", async () => {
    const consumer = join(work, "consumer");
    await mkdir(join(consumer, "node_modules", "@types"), { recursive: true });
    await symlink(packed, join(consumer, "node_modules", "confiture"), "dir");
    await symlink(
      join(repo, "node_modules", "@types", "node"),
      join(consumer, "node_modules", "@types", "node"),
    );
    await writeFile(
      join(consumer, "use.ts"),
      [
        'import { type ConfitureConfig, loadConfig, migrateUp } from "confiture";',
        "export async function apply(): Promise<number> {",
        "  const config: ConfitureConfig = await loadConfig({});",
        "  const result = await migrateUp(config, { dryRun: true });",
        "  return result.applied.length;",
        "}",
        "// @ts-expect-error: the declarations are real, so a wrong argument type is an error",
        "export const wrong = migrateUp(42);",
      ].join("\n"),
    );
    await writeFile(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          types: ["node"],
        },
        files: ["use.ts"],
      }),
    );
    await writeFile(join(consumer, "package.json"), JSON.stringify({ type: "module" }));
    const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
    // Throws (and the test fails with tsc's output) when the types are missing or wrong.
    execFileSync(process.execPath, [tsc, "-p", consumer], { cwd: consumer, encoding: "utf8" });
  }, 60_000);

  it("with --debug, a stack trace names the src/ files through the source maps", async () => {
    const r = await runCli(["migrate", "status", "--debug"], {
      cwd: project.dir,
      env: { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" },
    });
    expect(r.code).toBe(5); // SPEC §10: cannot connect
    expect(r.stderr).toMatch(/^\s+at .*src\/db\/[a-z-]+\.ts:\d+:\d+\)?$/m);
    expect(r.stderr).not.toMatch(/dist\/chunks\//);
  });
});
