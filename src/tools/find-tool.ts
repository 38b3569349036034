/**
 * Where a PostgreSQL program lives: the configured directory, then PATH, then Debian's
 * versioned /usr/lib/postgresql/<major>/bin (which is not on PATH for server programs such as
 * initdb and pg_ctl), newest first; and, when a minimum major is asked for, the first candidate
 * that is new enough (pg_dump refuses to dump a server newer than itself).
 */
import { constants } from "node:fs";
import { access, readdir, realpath, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { ToolError, UsageError } from "../errors.js";
import { readToolVersion, type ToolVersion } from "./tool-version.js";

/** The programs Confiture runs; any other program name of the PostgreSQL distribution works too. */
export type ToolName =
  | "pg_dump"
  | "pg_restore"
  | "pg_basebackup"
  | "psql"
  | "initdb"
  | "pg_ctl"
  | (string & {});

/** Where to look, and how new the program must be. */
export interface FindToolOptions {
  /** Looked in first: the PostgreSQL binary directory the user configured. */
  binDir?: string;
  /** Directories after `binDir`; a `*` component is every version there, newest first. Default: defaultSearchPath(env). */
  searchPath?: readonly string[];
  /** The lowest acceptable major version, e.g. the server's (`server_version_num / 10000`) for pg_dump. */
  minMajor?: number;
  /** The server's version as people know it ("16.4"), for the TOOL_TOO_OLD message. */
  serverVersion?: string;
  /** The environment the program will run with (its PATH; Debian's pg_wrapper also reads PG* variables). */
  env?: NodeJS.ProcessEnv;
}

/** A program that exists, runs, and is new enough. */
export interface FoundTool {
  name: string;
  /** Absolute path to run (a symlink is kept: pg_wrapper decides by the name it was called as). */
  path: string;
  version: ToolVersion;
}

const DEBIAN_VERSIONED_BIN = "/usr/lib/postgresql/*/bin";

/** Programs that come with the server package, not the client package. */
const SERVER_PROGRAMS = new Set([
  "initdb",
  "pg_ctl",
  "postgres",
  "pg_controldata",
  "pg_resetwal",
  "pg_upgrade",
]);

/**
 * PATH's directories followed by `/usr/lib/postgresql/*\/bin`. Empty and relative PATH entries
 * are skipped: they mean "the current directory", and a pg_dump planted there must not run.
 * @example defaultSearchPath({ PATH: "/usr/bin:/bin" }) // ["/usr/bin", "/bin", "/usr/lib/postgresql/*\/bin"]
 */
export function defaultSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const path = (env.PATH ?? "").split(":").filter((dir) => isAbsolute(dir));
  return [...path, DEBIAN_VERSIONED_BIN];
}

/**
 * Find `name`, check its version, and return the first acceptable candidate.
 * Throws ToolError TOOL_NOT_FOUND (nowhere, or nothing that runs) or TOOL_TOO_OLD (found, but
 * every candidate is older than `minMajor`; the message names each one and the server).
 * @example const pgDump = await findTool("pg_dump", { binDir: config.pgBinDir, minMajor: 16, serverVersion: "16.4" });
 */
export async function findTool(name: ToolName, options: FindToolOptions = {}): Promise<FoundTool> {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
    throw new UsageError(`${JSON.stringify(name)} is not the name of a PostgreSQL program`);
  }
  const env = options.env ?? process.env;
  const dirs = [
    ...new Set([
      ...(options.binDir ? [options.binDir] : []),
      ...(options.searchPath ?? defaultSearchPath(env)),
    ]),
  ];
  const tooOld: FoundTool[] = [];
  const broken: string[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    for (const expanded of await expand(dir)) {
      const path = join(expanded, name);
      if (!(await isExecutableFile(path))) continue;
      // /bin/pg_dump and /usr/bin/pg_dump are often the same file (merged /usr): probe it once.
      const real = await realpath(path).catch(() => path);
      if (seen.has(real)) continue;
      seen.add(real);
      let version: ToolVersion;
      try {
        version = await readToolVersion(path, env);
      } catch (err) {
        broken.push((err as Error).message);
        continue;
      }
      if (options.minMajor === undefined || version.num >= options.minMajor * 10000) {
        return { name, path, version };
      }
      tooOld.push({ name, path, version });
    }
  }
  if (tooOld.length > 0) throw tooOldError(name, tooOld, options);
  throw notFoundError(name, dirs, broken);
}

/** `/usr/lib/postgresql/*\/bin` -> the existing version directories, newest first. */
async function expand(dir: string): Promise<string[]> {
  const star = dir.indexOf("/*/");
  if (star === -1) return [dir];
  const parent = dir.slice(0, star);
  const rest = dir.slice(star + 3);
  const entries = await readdir(parent).catch(() => [] as string[]);
  return entries
    .filter((e) => !e.startsWith("."))
    .sort((a, b) => versionOrder(b) - versionOrder(a) || b.localeCompare(a))
    .map((e) => join(parent, e, rest));
}

/** "15" -> 15, "9.6" -> 9.6; anything else sorts last. */
function versionOrder(entry: string): number {
  return /^\d+(\.\d+)?$/.test(entry) ? Number(entry) : -1;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function packageFor(name: string, major?: number): string {
  const base = SERVER_PROGRAMS.has(name) ? "postgresql" : "postgresql-client";
  return major === undefined ? base : `${base}-${major}`;
}

function tooOldError(name: string, found: FoundTool[], options: FindToolOptions): ToolError {
  const major = options.minMajor!;
  const candidates = found.map((t) => `${name} ${versionLabel(t.version)} at ${t.path}`).join(", ");
  const server =
    options.serverVersion === undefined
      ? `major version ${major} or newer is needed`
      : `the server runs PostgreSQL ${options.serverVersion}, so ${name} ${major} or newer is needed`;
  return new ToolError(
    "TOOL_TOO_OLD",
    name,
    `${candidates} ${found.length === 1 ? "is" : "are"} too old: ${server}. ` +
      `Install ${packageFor(name, major)} (Debian/Ubuntu: apt-get install ${packageFor(name, major)}) ` +
      `or set the PostgreSQL binary directory to one with ${name} ${major} or newer`,
    {
      details: {
        minMajor: major,
        serverVersion: options.serverVersion,
        found: found.map((t) => ({ path: t.path, version: versionLabel(t.version) })),
      },
    },
  );
}

/** "15.18 (Debian 15.18-0+deb12u1)" out of "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
function versionLabel(version: ToolVersion): string {
  return /\(PostgreSQL\)\s+(.+)$/.exec(version.text)?.[1] ?? `${version.major}.${version.minor}`;
}

function notFoundError(name: string, dirs: string[], broken: string[]): ToolError {
  const where = dirs.length === 0 ? "nowhere (no directories to search)" : dirs.join(", ");
  const why = broken.length === 0 ? "" : ` (found but not usable: ${broken.join("; ")})`;
  return new ToolError(
    "TOOL_NOT_FOUND",
    name,
    `${name} not found; looked in ${where}${why}. Install PostgreSQL's programs ` +
      `(Debian/Ubuntu: apt-get install ${packageFor(name)}) or set the PostgreSQL binary directory to where ${name} is`,
    { details: { searched: dirs } },
  );
}
