/**
 * What version a PostgreSQL program is, read from its own `--version` and remembered for the
 * life of the process (a binary does not change under us, and candidates are probed often).
 */
import { execFile } from "node:child_process";
import { ToolError } from "../errors.js";
import { redactText } from "../redact/index.js";

/** A program's version as `--version` reports it. */
export interface ToolVersion {
  /** The whole first line, e.g. `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`. */
  text: string;
  /** The major version: 15 for 15.18. Releases before 10 had two-part majors: 9.6.24 gives 9 (see `num`). */
  major: number;
  /** 18 for 15.18; 6 for 9.6.24; 0 for 17beta1. */
  minor: number;
  /** Comparable like the server's `server_version_num`: 150018, 90624, 170000 for 17beta1. */
  num: number;
}

/**
 * Parse a `--version` line; undefined when it is not a PostgreSQL program's version.
 * @example parseToolVersion("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)") // { major: 15, minor: 18, num: 150018, ... }
 */
export function parseToolVersion(output: string): ToolVersion | undefined {
  const text = output.trim().split("\n")[0]?.trim() ?? "";
  // "(PostgreSQL) " is what every program of the distribution prints; forks keep it too.
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  if (m === null) return undefined;
  const first = Number(m[1]);
  const second = m[2] === undefined ? 0 : Number(m[2]);
  if (first >= 10) return { text, major: first, minor: second, num: first * 10000 + second };
  const third = m[3] === undefined ? 0 : Number(m[3]);
  return { text, major: first, minor: second, num: first * 10000 + second * 100 + third };
}

const cache = new Map<string, Promise<ToolVersion>>();

/**
 * Debian's /usr/bin/pg_dump is pg_wrapper, which picks the real binary from PGCLUSTER, PGHOST,
 * PGPORT and PGSERVICE; so the same path can be two versions in two environments.
 */
function cacheKey(path: string, env: NodeJS.ProcessEnv): string {
  return [path, env.PGCLUSTER, env.PGHOST === undefined, env.PGPORT, env.PGSERVICE === undefined].join("\0");
}

/**
 * Run `<path> --version` and parse it, once per path (and pg_wrapper-relevant environment) per
 * process. Throws ToolError TOOL_NOT_FOUND when it cannot be started, TOOL_FAILED when it
 * fails or prints something that is not a PostgreSQL version.
 * @example const { major } = await readToolVersion("/usr/lib/postgresql/15/bin/pg_dump"); // 15
 */
export function readToolVersion(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ToolVersion> {
  const key = cacheKey(path, env);
  let version = cache.get(key);
  if (version === undefined) {
    version = probe(path, env);
    cache.set(key, version);
    // A failure may be passing (a wrapper missing its client package until someone installs it).
    version.catch(() => cache.delete(key));
  }
  return version;
}

function toolName(path: string): string {
  return path.split("/").pop() || path;
}

function probe(path: string, env: NodeJS.ProcessEnv): Promise<ToolVersion> {
  const tool = toolName(path);
  return new Promise((resolve, reject) => {
    execFile(path, ["--version"], { env, timeout: 15_000, encoding: "utf8" }, (err, stdout, stderr) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (code === "ENOENT" || code === "EACCES") {
        reject(new ToolError("TOOL_NOT_FOUND", tool, `${tool} at ${path} cannot be started (${code})`));
        return;
      }
      const version = err === null ? parseToolVersion(stdout) : undefined;
      if (version !== undefined) {
        resolve(version);
        return;
      }
      const said = redactText(`${stderr}\n${stdout}`.trim().split("\n").pop() ?? "").trim();
      reject(
        new ToolError(
          "TOOL_FAILED",
          tool,
          `${path} --version did not print a PostgreSQL version${said === "" ? "" : `: ${said}`}`,
          { details: { path } },
        ),
      );
    });
  });
}
