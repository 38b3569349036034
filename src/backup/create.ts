/**
 * `backup create`: pg_dump of the configured database into `backup.dir`, with a metadata file
 * that describes the same instant as the dump. One session opens a `repeatable read read only`
 * transaction and exports its snapshot; the history, the schema fingerprint and the row counts
 * are read in it, and pg_dump runs with `--snapshot` while it stays open.
 *
 * A killed backup never looks like a good one: the dump is written under `.<name>.partial`,
 * its metadata is written and renamed first, and only then is the dump renamed to its final
 * name. Any failure (pg_dump error, full disk, cancellation) removes the partial files.
 */
import { createHash } from "node:crypto";
import { createWriteStream, rmSync } from "node:fs";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import type { Session } from "../db/session.js";
import { ConfitureError, OperationFailedError } from "../errors.js";
import { failureEvent, type HistoryStore } from "../history/index.js";
import { inspect, runContext } from "../ops/context.js";
import { connectionEnv, findTool, runTool } from "../tools/index.js";
import { ensureWritableDir, exists, removeStaleLeftovers } from "./backup-dir.js";
import { dumpSha256 } from "./digest.js";
import { type BackupMetadata, diskSize, metadataPathOf } from "./metadata.js";
import { backupName, partialName } from "./naming.js";
import { beginSnapshot } from "./snapshot-facts.js";

/** How `backup create` runs. */
export interface CreateBackupOptions {
  /** Row counts from the planner's estimates (`reltuples`) instead of `count(*)`. */
  fast?: boolean | undefined;
  /** Aborting stops pg_dump and removes the partial files. */
  signal?: AbortSignal | undefined;
  /** Called about every `progressIntervalMs` while pg_dump writes. */
  onProgress?: ((progress: BackupProgress) => void) | undefined;
  /** Default 1000 ms. */
  progressIntervalMs?: number | undefined;
  /** Where pg_dump is looked for first (the PostgreSQL binary directory). */
  binDir?: string | undefined;
  /** Where pg_dump is looked for after `binDir`; default PATH, then /usr/lib/postgresql/*\/bin. */
  searchPath?: readonly string[] | undefined;
}

/** How far pg_dump has got. */
export interface BackupProgress {
  /** Bytes written so far. */
  bytes: number;
  elapsedMs: number;
}

/** A finished backup. */
export interface CreateBackupResult {
  /** The dump's path (a file, or a directory for `backup.format: directory`). */
  path: string;
  metaPath: string;
  metadata: BackupMetadata;
  durationMs: number;
  /** Partial files older than an hour (killed runs' leftovers) removed before starting. */
  removedLeftovers: string[];
  /** Whether the event row was written (false: e.g. a read-only server). */
  eventRecorded: boolean;
}

/**
 * Take a backup now.
 * Throws: UsageError BACKUP_DIR_UNUSABLE (exit 2), ToolError TOOL_NOT_FOUND / TOOL_TOO_OLD
 * (exit 2), TOOL_FAILED (exit 1), OperationFailedError BACKUP_DISK_FULL (exit 1),
 * ConnectionError (exit 5).
 *
 * @example const { path, metadata } = await createBackup(await loadConfig({}), { fast: true });
 */
export async function createBackup(
  config: ConfitureConfig,
  opts: CreateBackupOptions = {},
): Promise<CreateBackupResult> {
  const dir = config.backup.dir;
  const run = runContext(config, opts.fast ? `${COMMANDS.backupCreate} --fast` : COMMANDS.backupCreate);
  await ensureWritableDir(dir, "backup.dir");
  const removedLeftovers = await removeStaleLeftovers(dir);
  const url = run.connection.connectionString ?? "";
  return inspect(run, async ({ session, history }) => {
    const began = Date.now();
    let file: string | undefined;
    try {
      const made = await dumpWithMetadata(session, history, config, url, opts, (name) => {
        file = name;
      });
      const durationMs = Date.now() - began;
      const { metadata } = made;
      const eventRecorded = await history.recordEvent({
        command: COMMANDS.backupCreate,
        environment: run.environment,
        outcome: "success",
        details: {
          file: metadata.file,
          dir,
          sha256: metadata.sha256,
          sizeBytes: metadata.sizeBytes,
          durationMs,
          fast: opts.fast === true,
          appliedCount: metadata.migrations.appliedCount,
          head: metadata.migrations.head,
        },
      });
      return { ...made, durationMs, removedLeftovers, eventRecorded };
    } catch (err) {
      if (session.transactionStatus() !== "idle") await session.query("rollback").catch(() => {});
      const error = explainFailure(err, dir, file);
      await history.recordEvent(failureEvent(COMMANDS.backupCreate, run.environment, { file, dir }, error));
      throw error;
    }
  });
}

async function dumpWithMetadata(
  session: Session,
  history: HistoryStore,
  config: ConfitureConfig,
  url: string,
  opts: CreateBackupOptions,
  named: (name: string) => void,
): Promise<{ path: string; metaPath: string; metadata: BackupMetadata }> {
  const { dir, format, compress } = config.backup;
  // Found before anything is written: a missing or too old pg_dump leaves no trace.
  const pgDump = await findTool("pg_dump", {
    binDir: opts.binDir,
    searchPath: opts.searchPath,
    minMajor: Math.floor(session.serverVersionNum / 10000),
    serverVersion: session.serverVersion,
    env: { ...process.env, ...connectionEnv(url) },
  });
  const { name, startedAt, partial } = await reserveName(dir, session.database, format);
  named(name);
  const path = join(dir, name);
  const metaPath = metadataPathOf(path);
  const metaPartial = join(dir, partialName(basename(metaPath)));
  // The CLI exits at once on SIGINT/SIGTERM; the tools' exit handler stops pg_dump first.
  const removePartials = () => {
    rmSync(partial, { recursive: true, force: true });
    rmSync(metaPartial, { force: true });
  };
  process.on("exit", removePartials);
  const ticker = progressTicker(partial, opts);
  try {
    const facts = await beginSnapshot(session, history, history.tables, { fast: opts.fast === true });
    const args = [`--format=${format}`, `--compress=${compress}`, "--no-password"];
    if (facts.snapshot !== null) args.push(`--snapshot=${facts.snapshot}`);
    if (format === "directory") args.push(`--file=${partial}`);
    // A custom-format dump comes through a pipe, not a file handed over: hashed as it is written
    // (no second pass over the file), and if this process is killed (even with -9), pg_dump's
    // next write fails and it ends instead of finishing a dump nobody will keep.
    const hashed = format === "custom" ? hashedFile(partial) : undefined;
    const dumped = await runTool(pgDump, args, {
      connection: url,
      signal: opts.signal,
      stdout: hashed?.input ?? "ignore",
    });
    const inlineSha256 = hashed === undefined ? undefined : await hashed.done;
    ticker.stop();
    // The snapshot was imported when pg_dump started; a session that died since changes nothing.
    await session.query("commit").catch(() => {});
    const finishedAt = new Date();
    const sizeBytes = (await diskSize(partial)) ?? 0;
    const digest =
      inlineSha256 === undefined
        ? await dumpSha256(partial)
        : { sha256: inlineSha256, sha256Of: "file" as const };
    const metadata: BackupMetadata = {
      kind: "confiture-backup",
      version: 1,
      file: name,
      database: session.database,
      schema: history.tables.schema,
      dumpFormat: format,
      compress,
      serverVersion: session.serverVersion,
      serverVersionNum: session.serverVersionNum,
      pgDumpVersion: dumped.tool.version.text.replace(/^pg_dump \(PostgreSQL\)\s*/, ""),
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      sizeBytes,
      ...digest,
      ...facts,
    };
    await writeFile(metaPartial, `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600 });
    await rename(metaPartial, metaPath);
    try {
      await rename(partial, path);
    } catch (err) {
      await rm(metaPath, { force: true });
      throw err;
    }
    return { path, metaPath, metadata };
  } catch (err) {
    removePartials();
    throw err;
  } finally {
    ticker.stop();
    process.off("exit", removePartials);
  }
}

/**
 * The dump's name (its start time, to the second) and its reserved partial file: created
 * exclusively, so two backups started in the same second never share one (the second waits
 * for the next second).
 */
async function reserveName(
  dir: string,
  database: string,
  format: "custom" | "directory",
): Promise<{ name: string; startedAt: Date; partial: string }> {
  for (let attempt = 0; ; attempt++) {
    const startedAt = new Date();
    const name = backupName(database, startedAt);
    const partial = join(dir, partialName(name));
    const taken = (await exists(join(dir, name))) || (await exists(metadataPathOf(join(dir, name))));
    if (!taken) {
      try {
        if (format === "directory") await mkdir(partial, { mode: 0o700 });
        else await (await open(partial, "wx", 0o600)).close();
        return { name, startedAt, partial };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 5) throw err;
      }
    } else if (attempt >= 5) {
      throw new OperationFailedError(
        "TOOL_FAILED",
        `${name} already exists in ${dir}; try again in a second`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
  }
}

function progressTicker(partial: string, opts: CreateBackupOptions): { stop(): void } {
  const onProgress = opts.onProgress;
  if (onProgress === undefined) return { stop() {} };
  const began = Date.now();
  let busy = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void diskSize(partial)
      .then((bytes) => {
        if (bytes !== null && !stopped) onProgress({ bytes, elapsedMs: Date.now() - began });
      })
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, opts.progressIntervalMs ?? 1000);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * The error to report: a full disk as BACKUP_DISK_FULL; a pg_dump failure with a note that
 * nothing was kept; anything else as it is.
 */
export function explainFailure(err: unknown, dir: string, file: string | undefined): unknown {
  const what = file ?? "the backup";
  if (isDiskFull(err)) {
    return new OperationFailedError(
      "BACKUP_DISK_FULL",
      `the disk holding ${dir} is full: ${what} could not be written completely, and its partial files were removed. ` +
        'Free space (or set backup.dir to a bigger disk) and run "confiture backup create" again.',
      { cause: err, details: { dir, file } },
    );
  }
  if (err instanceof ConfitureError && err.code === "TOOL_FAILED" && file !== undefined) {
    return err.withNote(`; the partial dump was removed, no backup was kept`, { dir, file });
  }
  return err;
}

/** ENOSPC from our own writes, or pg_dump's "No space left on device". */
export function isDiskFull(err: unknown): boolean {
  if ((err as NodeJS.ErrnoException | undefined)?.code === "ENOSPC") return true;
  if (!(err instanceof Error)) return false;
  const stderr = err instanceof ConfitureError ? JSON.stringify(err.details?.stderr ?? "") : "";
  return /no space left on device/i.test(`${err.message} ${stderr}`);
}

/**
 * A writable that hashes what it is given (SHA-256) and writes it to `path`; `done` resolves with
 * the hex digest once the file is complete, and rejects with the write error (ENOSPC, ...).
 */
function hashedFile(path: string): { input: Writable; done: Promise<string> } {
  const hash = createHash("sha256");
  const input = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const done = pipeline(input, createWriteStream(path)).then(() => hash.digest("hex"));
  done.catch(() => {}); // awaited after the dump; runTool reports the same failure first
  return { input, done };
}
