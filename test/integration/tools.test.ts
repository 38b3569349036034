/**
 * src/tools against real PostgreSQL programs and a real server: finding and version-checking
 * them, connecting through the environment only, redacted failures, cancellation, and no child
 * outliving its process.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ToolError, UsageError } from "../../src/errors.js";
import { connectionEnv, findTool, parseToolVersion, runTool } from "../../src/tools/index.js";
import {
  createTestDatabase,
  SENTINEL_PASSWORD,
  type TestDatabase,
  urlWithPassword,
} from "../support/database.js";
import { eventually } from "../support/e2e.js";

let db: TestDatabase;
let tmp: string;
let serverMajor: number;
// The owned cluster's bin dir; "" against TEST_DATABASE_URL, where the normal search applies.
const binDir = inject("pgBinDir") || undefined;

beforeAll(async () => {
  db = await createTestDatabase("tools");
  tmp = await mkdtemp(join(tmpdir(), "confiture-tools-"));
  const r = await db.query<{ major: number }>(
    "select current_setting('server_version_num')::int / 10000 as major",
  );
  serverMajor = r.rows[0]!.major;
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
  await db?.drop();
});

async function rejection(promise: Promise<unknown>): Promise<ToolError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolError);
  return err as ToolError;
}

/** Gone, or dead and merely not reaped yet (a zombie's parent may be an init that never reaps). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return ["Z", "X"].includes(stat.charAt(stat.lastIndexOf(")") + 2));
  } catch {
    return true;
  }
}

/** Backends (other than ours) whose running query contains `marker`. */
async function activeBackends(marker: string): Promise<number> {
  const r = await db.query(
    "select pid from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and strpos(query, $1) > 0",
    [marker],
  );
  return r.rowCount ?? 0;
}

describe("finding PostgreSQL's programs", () => {
  it("finds psql and pg_dump and parses --version: the server's major here", async () => {
    for (const name of ["psql", "pg_dump"]) {
      // Default search: PATH first (Debian's pg_wrapper in /usr/bin), then /usr/lib/postgresql/*/bin.
      const tool = await findTool(name);
      expect(tool.version.text).toMatch(new RegExp(`^${name} \\(PostgreSQL\\) ${serverMajor}\\.\\d+`));
      expect(tool.version.major).toBe(serverMajor);
      expect(tool.version.num).toBe(serverMajor * 10000 + tool.version.minor);
    }
    const printed = await runTool("psql", ["--version"], { binDir });
    expect(parseToolVersion(printed.stdout)?.major).toBe(serverMajor);
    expect(parseToolVersion("pg_dump (PostgreSQL) 9.6.24")).toMatchObject({ major: 9, minor: 6, num: 90624 });
    expect(parseToolVersion("psql (PostgreSQL) 17beta1")).toMatchObject({ major: 17, minor: 0 });
    expect(parseToolVersion("bash, version 5")).toBeUndefined();
  });

  it("looks in binDir first, skips a candidate that is too old, and expands /usr/lib/postgresql/*/bin", async () => {
    const fakeDir = join(tmp, "fake-bin");
    await mkdir(fakeDir, { recursive: true });
    const fake = join(fakeDir, "pg_dump");
    await writeFile(fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.2.24'\n");
    await chmod(fake, 0o755);
    expect((await findTool("pg_dump", { binDir: fakeDir })).path).toBe(fake);
    const newer = await findTool("pg_dump", { binDir: fakeDir, minMajor: serverMajor });
    expect(newer.path).not.toBe(fake);
    expect(newer.version.major).toBe(serverMajor);
    if (binDir !== undefined) {
      const glob = join(dirname(dirname(binDir)), "*", "bin");
      expect((await findTool("pg_dump", { searchPath: [glob] })).path).toBe(join(binDir, "pg_dump"));
    }
  });

  it("refuses a pg_dump older than the server, naming both versions and what to do", async () => {
    const installed = await findTool("pg_dump", { binDir });
    const needed = installed.version.major + 1;
    const err = await rejection(
      runTool("pg_dump", ["--schema-only"], {
        binDir,
        minMajor: needed,
        serverVersion: `${needed}.2`,
        connection: db.url,
      }),
    );
    expect(err.code).toBe("TOOL_TOO_OLD");
    expect(err.category).toBe("usage");
    const fullVersion = installed.version.text.replace(/^pg_dump \(PostgreSQL\) /, "");
    expect(err.message).toContain(`pg_dump ${fullVersion} at ${installed.path}`);
    expect(err.message).toContain(`the server runs PostgreSQL ${needed}.2`);
    expect(err.message).toContain(`apt-get install postgresql-client-${needed}`);
    expect(err.message).toContain("PostgreSQL binary directory");
  });

  it("says where it looked when a program is missing", async () => {
    const missing = await rejection(runTool("pg_no_such_program", []));
    expect(missing.code).toBe("TOOL_NOT_FOUND");
    expect(missing.message).toMatch(
      /^pg_no_such_program not found; looked in .*\/usr\/lib\/postgresql\/\*\/bin/,
    );
    expect(missing.message).toContain("apt-get install postgresql-client");

    const empty = await mkdtemp(join(tmp, "empty-"));
    const nowhere = await rejection(findTool("pg_dump", { binDir: empty, searchPath: [] }));
    expect(nowhere.code).toBe("TOOL_NOT_FOUND");
    expect(nowhere.message).toContain(`pg_dump not found; looked in ${empty}.`);

    const vanished = {
      name: "pg_dump",
      path: join(empty, "pg_dump"),
      version: (await findTool("pg_dump")).version,
    };
    expect((await rejection(runTool(vanished, ["--version"]))).code).toBe("TOOL_NOT_FOUND");
  });
});

describe("connection through the environment", () => {
  it("turns a URL into libpq variables, percent-decoded, and refuses unknown parameters without echoing the URL", () => {
    expect(
      connectionEnv(
        "postgres://us%40r:p%2Fw%3A@[::1]:5433/my%20db?sslmode=require&application_name=app&options=-c%20x%3D1",
      ),
    ).toEqual({
      PGHOST: "::1",
      PGPORT: "5433",
      PGUSER: "us@r",
      PGPASSWORD: "p/w:",
      PGDATABASE: "my db",
      PGSSLMODE: "require",
      PGAPPNAME: "app",
      PGOPTIONS: "-c x=1",
    });
    const bad = (() => {
      try {
        connectionEnv("postgres://u:hunter2-Secret@h/db?ssl=true");
      } catch (e) {
        return e as UsageError;
      }
    })();
    expect(bad).toBeInstanceOf(UsageError);
    expect(bad?.code).toBe("USAGE");
    expect(bad?.message).toContain('"ssl"');
    expect(bad?.message).not.toContain("hunter2");
  });

  it("dumps a real database to a file and to a stream; the password is in the child's environment, never its argv", async () => {
    await db.query("create table tools_widgets (id int primary key, name text not null)");
    const file = join(tmp, "schema.sql");
    const lines: string[] = [];
    const result = await runTool("pg_dump", ["--schema-only", "--no-password"], {
      binDir,
      connection: db.url,
      minMajor: serverMajor,
      stdout: { file },
      onStderrLine: (line) => lines.push(line),
    });
    expect(result.stdout).toBe("");
    const dumped = await readFile(file, "utf8");
    expect(dumped).toContain("CREATE TABLE public.tools_widgets");
    expect(dumped).not.toContain(SENTINEL_PASSWORD);
    expect(lines.join("\n")).not.toContain(SENTINEL_PASSWORD);

    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    await runTool("pg_dump", ["--schema-only", "--table=tools_widgets"], {
      binDir,
      connection: db.url,
      stdout: stream,
    });
    expect(Buffer.concat(chunks).toString()).toContain("CREATE TABLE public.tools_widgets");
    expect(stream.writableEnded).toBe(true);

    let cmdline = "";
    let environ = "";
    await runTool("psql", ["-X", "--no-password", "-c", "select pg_sleep(1)"], {
      binDir,
      connection: db.url,
      onSpawn: (pid) => {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      },
    });
    expect(cmdline).toContain("select pg_sleep(1)");
    expect(cmdline).not.toContain(SENTINEL_PASSWORD);
    expect(cmdline).not.toContain("postgres://");
    expect(environ.split("\0")).toContain(`PGPASSWORD=${SENTINEL_PASSWORD}`);
  });

  it("refuses an argument that carries a password", async () => {
    const err = await runTool("psql", ["-X", db.url, "-c", "select 1"], { binDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain("argument 2 of psql carries a password");
    expect((err as Error).message).not.toContain(SENTINEL_PASSWORD);
  });
});

describe("failures", () => {
  it("a wrong password: TOOL_FAILED with the server's reason and no password", async () => {
    const wrong = "wrong-Pw-7xq";
    const err = await rejection(
      runTool("psql", ["-X", "--no-password", "-c", "select 1"], {
        binDir,
        connection: urlWithPassword(db.url, wrong),
      }),
    );
    expect(err.code).toBe("TOOL_FAILED");
    expect(err.exitStatus).toBe(2);
    expect(err.message).toMatch(
      /^psql exited with status 2: error: connection to server .* failed: FATAL: password authentication failed for user "confiture_test"$/,
    );
    const everything = `${err.message}\n${JSON.stringify(err.details)}`;
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(SENTINEL_PASSWORD);

    // A failed dump leaves no file that could pass for a backup.
    const file = join(tmp, "never.dump");
    const dump = await rejection(
      runTool("pg_dump", ["--no-password"], {
        binDir,
        connection: urlWithPassword(db.url, wrong),
        stdout: { file },
      }),
    );
    expect(dump.message).toMatch(/^pg_dump exited with status 1: error: .*password authentication failed/);
    expect(existsSync(file)).toBe(false);
  });

  it("a program killed by a signal, or printing more than asked for, is TOOL_FAILED saying so", async () => {
    const killed = await rejection(
      runTool("psql", ["-X", "--no-password", "-c", "select 1"], {
        binDir,
        connection: db.url,
        onSpawn: (pid) => process.kill(pid, "SIGKILL"),
      }),
    );
    expect(killed.code).toBe("TOOL_FAILED");
    expect(killed.message).toMatch(/^psql was killed by SIGKILL/);

    const chatty = await rejection(
      runTool("psql", ["-X", "--no-password", "-At", "-c", "select repeat('x', 100000)"], {
        binDir,
        connection: db.url,
        maxCaptureBytes: 1000,
      }),
    );
    expect(chatty.message).toBe("psql printed more than 1000 bytes; send its output to a file");
  });

  it("stderr is redacted before it reaches the callback, the result or the error", async () => {
    const lines: string[] = [];
    const ok = await runTool("psql", ["-X", "-b", "-f", "-"], {
      binDir,
      connection: db.url,
      input: "alter role no_such_role password 'hunter2-Secret';\n",
      onStderrLine: (line) => lines.push(line),
    });
    expect(ok.stderr.join("\n")).toContain("password '***'");
    expect(lines.join("\n")).toContain("password '***'");
    expect(lines.join("\n")).not.toContain("hunter2-Secret");

    const err = await rejection(
      runTool("psql", ["-X", "-b", "-v", "ON_ERROR_STOP=1", "-f", "-"], {
        binDir,
        connection: db.url,
        input: `select '${SENTINEL_PASSWORD}'::int;\n`,
        onStderrLine: (line) => lines.push(line),
      }),
    );
    expect(err.exitStatus).toBe(3);
    expect(err.message).toBe(
      'psql exited with status 3: psql:<stdin>:1: ERROR: invalid input syntax for type integer: "***"',
    );
    expect(`${err.message}${JSON.stringify(err.details)}${lines.join("\n")}`).not.toContain(
      SENTINEL_PASSWORD,
    );
  });
});

describe("stopping", () => {
  it("an AbortSignal cancels a long query: rejects promptly, the child is gone, the server stops the query", async () => {
    const marker = "tools-cancel-marker";
    const controller = new AbortController();
    let pid = 0;
    const run = rejection(
      runTool("psql", ["-X", "--no-password", "-c", `select pg_sleep(60), '${marker}'`], {
        binDir,
        connection: db.url,
        signal: controller.signal,
        onSpawn: (p) => {
          pid = p;
        },
      }),
    );
    await eventually(
      async () => ((await activeBackends(marker)) > 0 ? true : undefined),
      "pg_sleep to run",
      10_000,
    );
    const started = Date.now();
    controller.abort();
    const err = await run;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.code).toBe("TOOL_FAILED");
    expect(err.message).toMatch(/^psql was cancelled/);
    expect(err.details).toMatchObject({ cancelled: true });
    expect(isGone(pid)).toBe(true);
    await eventually(
      async () => ((await activeBackends(marker)) === 0 ? true : undefined),
      "the query to stop",
      5000,
    );
  });

  it("no child outlives a process that exits on SIGTERM, and its query is cancelled", async () => {
    // The library entry users import (the bundle `npm run build` writes).
    const built = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
    expect(existsSync(built), "dist/index.js is missing: run `npm run build` first").toBe(true);
    const marker = "tools-exit-marker";
    const script = join(tmp, "exit-on-sigterm.mjs");
    await writeFile(
      script,
      [
        `import { runTool } from ${JSON.stringify(pathToFileURL(built).href)};`,
        // What the CLI does: its handler exits at once.
        "process.on('SIGTERM', () => process.exit(143));",
        `runTool('psql', ['-X', '--no-password', '-c', "select pg_sleep(60), '${marker}'"], {`,
        "  binDir: process.env.TOOLS_BIN_DIR || undefined,",
        "  connection: process.env.TOOLS_DATABASE_URL,",
        "  onSpawn: (pid) => console.log(pid),",
        "}).catch(() => {});",
      ].join("\n"),
    );
    const node = spawn(process.execPath, [script], {
      env: { ...process.env, TOOLS_BIN_DIR: binDir ?? "", TOOLS_DATABASE_URL: db.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    node.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => node.once("exit", (code) => resolve(code)));
    const pid = await eventually(
      async () => (/^\d+\n/.test(out) ? Number(out.trim()) : undefined),
      "the pid",
      10_000,
    );
    await eventually(
      async () => ((await activeBackends(marker)) > 0 ? true : undefined),
      "pg_sleep to run",
      10_000,
    );
    expect(isGone(pid)).toBe(false);
    node.kill("SIGTERM");
    expect(await exited).toBe(143);
    await eventually(async () => (isGone(pid) ? true : undefined), "psql to be gone", 3000);
    await eventually(
      async () => ((await activeBackends(marker)) === 0 ? true : undefined),
      "the query to stop",
      5000,
    );
  });
});
