/**
 * `pitr base-backup --dir D`: `pg_basebackup` in tar format with the WAL it needs streamed
 * alongside (`-Ft -X stream`), the starting point a point-in-time recovery replays archived
 * WAL onto. Connection through libpq's environment, never argv.
 */
import { mkdir, readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { COMMANDS } from "../commands.js";
import { type ConfitureConfig, requireDatabaseUrl } from "../config/index.js";
import { UsageError } from "../errors.js";
import { inspect, runContext } from "../ops/context.js";
import { runTool } from "../tools/index.js";

export interface PitrBaseBackupOptions {
  dir: string;
  /** gzip the tar files (`-z`). */
  compress?: boolean;
  /** Checkpoint at once (`--checkpoint=fast`) instead of spreading it (the default: gentler on a busy server). */
  fastCheckpoint?: boolean;
  /** Each progress line pg_basebackup prints (`-P`). */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface PitrBaseBackupResult {
  dir: string;
  database: string;
  serverVersion: string;
  /** The pg_basebackup that ran, e.g. "16.4". */
  toolVersion: string;
  /** Files written (names in `dir`) with their sizes in bytes. */
  files: { name: string; bytes: number }[];
  startedAt: string;
  finishedAt: string;
  /** What to do with it in a recovery, in order. */
  nextSteps: string[];
}

/**
 * Take a base backup into `dir` (created when missing; refused when not empty).
 * Throws UsageError BASE_BACKUP_DIR_NOT_EMPTY / REPLICATION_REQUIRED, ToolError
 * TOOL_NOT_FOUND / TOOL_TOO_OLD / TOOL_FAILED.
 * @example await pitrBaseBackup(config, { dir: "/backups/base/2024-01-15", compress: true });
 */
export async function pitrBaseBackup(
  config: ConfitureConfig,
  opts: PitrBaseBackupOptions,
): Promise<PitrBaseBackupResult> {
  const dir = resolve(opts.dir);
  const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    if (err.code === "ENOTDIR")
      throw new UsageError(
        `--dir ${dir} is a file: give a new or empty directory`,
        "BASE_BACKUP_DIR_NOT_EMPTY",
      );
    throw err;
  });
  if (existing.length > 0)
    throw new UsageError(
      `--dir ${dir} is not empty (${existing.length} entr${existing.length === 1 ? "y" : "ies"}, e.g. ${existing[0]}): give a new or empty directory; a base backup never overwrites another`,
      "BASE_BACKUP_DIR_NOT_EMPTY",
    );
  const run = runContext(config, COMMANDS.pitrBaseBackup);
  const facts = await inspect(run, async ({ session }) => {
    const [r] = await session.query<{ role: string; allowed: boolean; database: string }>(
      `select current_user as role, current_database() as database,
              coalesce((select rolsuper or rolreplication from pg_roles where rolname = current_user), false) as allowed`,
    );
    return {
      ...r!,
      serverVersion: session.serverVersion,
      major: Math.floor(session.serverVersionNum / 10000),
    };
  });
  if (!facts.allowed)
    throw new UsageError(
      `role ${facts.role} may not take a base backup: pg_basebackup needs the REPLICATION attribute (ALTER ROLE ${facts.role} REPLICATION, as a superuser) and a "replication" line in pg_hba.conf; or use a role that has them`,
      "REPLICATION_REQUIRED",
    );
  await mkdir(dir, { recursive: true });
  const startedAt = new Date().toISOString();
  const args = [
    "-D",
    dir,
    "-Ft",
    "-X",
    "stream",
    "-P",
    "--no-password",
    "-l",
    `confiture base backup ${startedAt}`,
    ...(opts.compress ? ["-z"] : []),
    ...(opts.fastCheckpoint ? ["--checkpoint=fast"] : []),
  ];
  const result = await runTool("pg_basebackup", args, {
    connection: requireDatabaseUrl(config),
    minMajor: facts.major,
    serverVersion: facts.serverVersion,
    stdout: "capture",
    ...(opts.signal ? { signal: opts.signal } : {}),
    onStderrLine: (line) => opts.onProgress?.(line.trim()),
  });
  const files = await Promise.all(
    (await readdir(dir)).sort().map(async (name) => ({ name, bytes: (await stat(join(dir, name))).size })),
  );
  const base = files.find((f) => f.name.startsWith("base.tar"))?.name ?? "base.tar";
  const wal = files.find((f) => f.name.startsWith("pg_wal.tar"))?.name ?? "pg_wal.tar";
  return {
    dir,
    database: facts.database,
    serverVersion: facts.serverVersion,
    toolVersion: result.tool.version.text,
    files,
    startedAt,
    finishedAt: new Date().toISOString(),
    nextSteps: [
      `to recover: stop the server, move its data directory aside, make a new empty one (owner postgres, mode 0700)`,
      `tar -xf ${join(dir, base)} -C NEWDATA && tar -xf ${join(dir, wal)} -C NEWDATA/pg_wal`,
      `confiture pitr recover --pgdata NEWDATA --target-time T --restore-command 'CMD %f %p'`,
    ],
  };
}
