/**
 * Small helpers for end-to-end command tests: a CLI runner bound to one project and database,
 * the one-JSON-document contract of `--format json`, the checksum the SPEC defines, and
 * watching a running CLI process until its output says something.
 */
import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmod } from "node:fs/promises";
import { createServer } from "node:net";
import { afterAll, beforeAll, expect } from "vitest";
import { type CliResult, runCli, spawnCli, splitTarget } from "./cli.js";
import { createTestDatabase, type TestDatabase, withClient } from "./database.js";
import { makeProject, type TestProject } from "./project.js";
import { SENTINEL_PASSWORD } from "./provided-context.js";

/** A `runCli` with the project directory and environment already chosen. */
export type BoundCli = (args: string[], extraEnv?: Record<string, string | undefined>) => Promise<CliResult>;

/**
 * Bind runCli to a project directory and an environment (usually `{ DATABASE_URL: db.url }`).
 * Every result is checked to never contain the test role's password.
 *
 * @example const cli = cliFor(project.dir, { DATABASE_URL: db.url }); await cli(["migrate", "up"]);
 */
export function cliFor(cwd: string, env: Record<string, string | undefined> = {}): BoundCli {
  return async (args, extraEnv = {}) => {
    const r = await runCli(args, { cwd, env: { ...env, ...extraEnv } });
    expect(r.stdout + r.stderr).not.toContain(SENTINEL_PASSWORD);
    return r;
  };
}

/** What `--format json` printed: `{ ok, command, ... }` or `{ ok: false, error: { code, message } }`. */
export interface JsonDoc {
  ok: boolean;
  command?: string | null;
  error?: { code: string; message: string; exitCode: number; details?: unknown };
  [key: string]: unknown;
}

/**
 * Assert the `--format json` contract for one run: stdout is exactly one JSON document (JSON.parse
 * of the whole stdout fails on two), `ok` is as expected ("either" where the contract leaves it
 * open, e.g. a report that found problems), an ok:false document carries `error.code`
 * and `error.message`, the exit code is `exit`, and stderr holds no JSON. Returns the document.
 */
export function expectJson(r: CliResult, exit: number, ok: boolean | "either"): JsonDoc {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(exit);
  let doc: JsonDoc;
  try {
    doc = JSON.parse(r.stdout) as JsonDoc;
  } catch (err) {
    throw new Error(`stdout is not exactly one JSON document (${(err as Error).message}):\n${r.stdout}`);
  }
  expect(typeof doc).toBe("object");
  if (ok === "either") expect(typeof doc.ok).toBe("boolean");
  else expect(doc.ok).toBe(ok);
  if (!doc.ok) {
    expect(typeof doc.error?.code).toBe("string");
    expect(typeof doc.error?.message).toBe("string");
    expect(doc.error?.exitCode).toBe(exit);
  }
  expect(r.stderr).not.toMatch(/^\s*[{[]/m);
  expect(r.stderr).not.toContain('"ok"');
  return doc;
}

/** SHA-256 hex of migration text after stripping a UTF-8 BOM and turning CRLF into LF (SPEC 1). */
export function expectedChecksum(content: string | Buffer): string {
  let text = typeof content === "string" ? content : content.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return createHash("sha256").update(text.replace(/\r\n/g, "\n"), "utf8").digest("hex");
}

/** A CLI process started with spawnCli whose output is collected as it arrives. */
export interface WatchedCli {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when `predicate(stderr, stdout)` holds; rejects if the process ends first or after `timeoutMs`. */
  until(predicate: (stderr: string, stdout: string) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves with the finished run. */
  done: Promise<CliResult>;
}

/**
 * Start the CLI and keep its output, for tests that act while it runs.
 *
 * @example const up = watchCli(["migrate", "up"], { cwd, env }); await up.until((err) => err.includes("retrying"));
 */
export function watchCli(args: string[], opts: Parameters<typeof spawnCli>[1]): WatchedCli {
  const child = spawnCli(args, opts);
  let stdout = "";
  let stderr = "";
  let finished = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout?.setEncoding("utf8").on("data", (s: string) => {
    stdout += s;
    notify();
  });
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
    notify();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      finished = true;
      notify();
      const { target, rest } = splitTarget(stderr);
      resolve({ code, signal, stdout, stderr: rest, ...(target === undefined ? {} : { target }) });
    });
  });
  const until = (predicate: (err: string, out: string) => boolean, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (predicate(stderr, stdout)) {
          cleanup();
          resolve();
        } else if (finished) {
          cleanup();
          reject(new Error(`the CLI exited before the awaited output\nstdout: ${stdout}\nstderr: ${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for CLI output\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    until,
    done,
  };
}

/** Poll `fn` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A test file's database and the temporary projects bound to it (see `fileDatabase`). */
export interface FileDatabase {
  /** The file's database (created in beforeAll). */
  readonly db: TestDatabase;
  /**
   * A project whose confiture.yaml manages `schema` (plus `baseConfig` and `extraConfig`), and
   * a CLI bound to it and the file's database through DATABASE_URL. Removed in afterAll.
   */
  project(
    schema: string,
    migrations?: Record<string, string>,
    extraConfig?: string,
  ): Promise<{ p: TestProject; cli: BoundCli }>;
  /** Remove this project (made some other way) in afterAll too. */
  track(project: TestProject): void;
}

/**
 * One fresh database for the calling test file, created in its beforeAll and dropped (with every
 * project made through it) in its afterAll.
 *
 * @example const file = fileDatabase("commands"); const { cli } = await file.project("cmd_up", { "001_a.up.sql": "..." });
 */
export function fileDatabase(label: string, baseConfig = ""): FileDatabase {
  let db: TestDatabase | undefined;
  const projects: TestProject[] = [];
  beforeAll(async () => {
    db = await createTestDatabase(label);
  });
  afterAll(async () => {
    await Promise.all(projects.map((p) => p.cleanup()));
    await db?.drop();
  });
  const current = (): TestDatabase => {
    if (db === undefined) throw new Error("the file's database exists only from beforeAll on");
    return db;
  };
  return {
    get db() {
      return current();
    },
    async project(schema, migrations = {}, extraConfig = "") {
      const p = await makeProject({ config: `schema: ${schema}\n${baseConfig}${extraConfig}`, migrations });
      projects.push(p);
      return { p, cli: cliFor(p.dir, { DATABASE_URL: current().url }) };
    },
    track(project) {
      projects.push(project);
    },
  };
}

/** A loopback port nobody listens on (taken from the OS, then released): a server that is down. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 1));
    });
  });
}

/** A project whose role's password only libpq's password file knows (see `withPassFileRole`). */
export interface PassFileProject {
  cli: BoundCli;
  /** DATABASE_URL without a password, PGPASSFILE naming the project's file, PGPASSWORD unset. */
  env: Record<string, string | undefined>;
  password: string;
}

/**
 * Run `fn` with a fresh login role (`attributes`, e.g. `createdb`) that owns schema `schema` and
 * whose password is in a password file with a line for the file's database only: a database
 * Confiture creates next to it (a scratch database, with a random name) has no line of its own.
 * The schema and the role are dropped afterwards.
 */
export async function withPassFileRole<T>(
  suite: FileDatabase,
  schema: string,
  attributes: string,
  migrations: Record<string, string>,
  fn: (project: PassFileProject) => Promise<T>,
): Promise<T> {
  const role = `pf_${randomBytes(4).toString("hex")}`;
  const password = `pass-file-only-${randomBytes(3).toString("hex")}`;
  await withClient(suite.db.adminUrl, (c) =>
    c.query(`create role ${role} login ${attributes} password '${password}'`),
  );
  try {
    await suite.db.query(`create schema ${schema} authorization ${role}`);
    const { p, cli } = await suite.project(schema, migrations);
    const u = new URL(suite.db.url);
    await p.write("pgpass", `${u.hostname}:${u.port}:${suite.db.name}:${role}:${password}\n`);
    await chmod(p.path("pgpass"), 0o600);
    const env = {
      DATABASE_URL: `postgres://${role}@${u.hostname}:${u.port}/${suite.db.name}`,
      PGPASSFILE: p.path("pgpass"),
      PGPASSWORD: undefined,
    };
    return await fn({ cli, env, password });
  } finally {
    await suite.db.query(`drop schema if exists ${schema} cascade`);
    await withClient(suite.db.adminUrl, (c) =>
      c.query(`drop owned by ${role}; drop role if exists ${role}`),
    ).catch(() => {});
  }
}
