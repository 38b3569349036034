/**
 * The backup directory as a place to write: created when missing, proven writable before any
 * work starts (one clear line when it is a file, not writable, or on a read-only disk), and
 * cleaned of the dot-prefixed partial files that killed runs left behind.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { isPartialName } from "./naming.js";

/** How old a partial file must be before it is taken for a killed run's leftover. */
export const STALE_PARTIAL_MS = 60 * 60 * 1000;

/**
 * Create `dir` when missing and prove it takes a file. Throws UsageError BACKUP_DIR_UNUSABLE
 * (exit 2) naming the directory and what to do.
 *
 * @example await ensureWritableDir(config.backup.dir, "backup.dir");
 */
export async function ensureWritableDir(dir: string, key: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.confiture-write-test-${process.pid}-${randomBytes(4).toString("hex")}`);
    await writeFile(probe, "", { flag: "wx", mode: 0o600 });
    await unlink(probe);
  } catch (error) {
    throw unusableDir(dir, key, error);
  }
}

/** The BACKUP_DIR_UNUSABLE error for a failed mkdir or write in `dir`. */
export function unusableDir(dir: string, key: string, error: unknown): UsageError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === "ENOTDIR" || code === "EEXIST"
      ? "it (or a parent) is a file, not a directory"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : code === "EROFS"
          ? "it is on a read-only file system"
          : code === "ENOSPC"
            ? "the disk is full"
            : `${code ?? String(error)}`;
  return new UsageError(
    `cannot write backups to ${dir}: ${why}. Set ${key} in confiture.yaml to a writable directory, or fix its permissions.`,
    "BACKUP_DIR_UNUSABLE",
    { details: { dir, errno: code } },
  );
}

/**
 * The dot-prefixed partial files (`.<name>.partial`) older than an hour: what a killed
 * `backup create` or `config backup` left (a run in progress touches its file all the time).
 */
export async function staleLeftovers(dir: string, now = Date.now()): Promise<string[]> {
  const stale: string[] = [];
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter(isPartialName).sort()) {
    const info = await lstat(join(dir, name)).catch(() => null);
    if (info !== null && now - info.mtimeMs >= STALE_PARTIAL_MS) stale.push(name);
  }
  return stale;
}

/** Remove the stale partial files (see staleLeftovers); returns their names. */
export async function removeStaleLeftovers(dir: string, now = Date.now()): Promise<string[]> {
  const stale = await staleLeftovers(dir, now);
  for (const name of stale) await rm(join(dir, name), { recursive: true, force: true });
  return stale;
}

/** True when `path` exists (file, directory or anything else). */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
