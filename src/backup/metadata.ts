/**
 * The metadata file written beside every Confiture backup (`<dump>.meta.json`), the small
 * verification record `backup verify` writes beside it (`<dump>.verified.json`), and the one
 * reader/validator both `backup list`/`prune` and `backup verify`/`restore` use. A dump is a
 * Confiture backup only when a metadata file names it; anything else in the backup directory
 * is left alone.
 */

import { lstat, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CheckFailedError } from "../errors.js";
import { parseBackupName, partialName } from "./naming.js";

/** Version 1 of the metadata format (docs: /tmp/notes/backup-design.md, README "Backups"). */
export interface BackupMetadata {
  kind: "confiture-backup";
  version: 1;
  /** The dump's name, without a directory. */
  file: string;
  database: string;
  schema: string;
  dumpFormat: "custom" | "directory";
  compress: number;
  serverVersion: string;
  serverVersionNum: number;
  pgDumpVersion: string;
  /** ISO 8601 UTC. */
  startedAt: string;
  finishedAt: string;
  sizeBytes: number;
  /** Hex SHA-256; for a directory dump, see `sha256Of`. */
  sha256: string;
  /**
   * `file`: the dump file's bytes. `directory-listing`: the directory's files sorted by name,
   * each as a line `<name>\0<hex sha256 of its content>\n`, and those lines hashed again.
   */
  sha256Of: "file" | "directory-listing";
  migrations: { trackingTable: string; appliedCount: number; head: string | null };
  /** schemaFingerprint of the managed schema, Confiture's own tables left out. */
  fingerprint: string;
  /** Rows per table of the managed schema (`exact: false`: `--fast` estimates). */
  rowCounts: { exact: boolean; tables: Record<string, number> };
  /** The exported snapshot pg_dump used (the same instant as everything above). */
  snapshot: string | null;
}

/** `<dump>.verified.json`, written by `backup verify` after each restore test. */
export interface BackupVerification {
  /** ISO 8601 UTC. */
  verifiedAt: string;
  /** Every check passed. */
  ok: boolean;
  /** The measured restore time (the real RTO), in milliseconds. */
  restoreMs: number;
}

/** Suffix of the metadata file beside a dump. */
export const METADATA_SUFFIX = ".meta.json";
/** Suffix of the verification record beside a dump. */
export const VERIFIED_SUFFIX = ".verified.json";

/** `<dump path>.meta.json`. */
export function metadataPathOf(dumpPath: string): string {
  return `${dumpPath}${METADATA_SUFFIX}`;
}

/** `<dump path>.verified.json`. */
export function verifiedPathOf(dumpPath: string): string {
  return `${dumpPath}${VERIFIED_SUFFIX}`;
}

/** Thrown when a metadata file is missing, not JSON, or not version-1 Confiture metadata. */
export class BackupMetadataError extends CheckFailedError {
  readonly metaPath: string;
  constructor(metaPath: string, problem: string) {
    super(
      "BACKUP_METADATA_INVALID",
      `backup metadata ${metaPath} ${problem}; it does not describe a usable Confiture backup (make a new one with "confiture backup create").`,
      { details: { metaPath, problem } },
    );
    this.metaPath = metaPath;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isIsoTime = (v: unknown): v is string => typeof v === "string" && !Number.isNaN(Date.parse(v));
const isHex64 = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);

/**
 * The first thing wrong with `value` as version-1 backup metadata, or null when it is valid.
 * `expectedFile`, when given, must equal `file` (the metadata names its own dump).
 */
export function metadataProblem(value: unknown, expectedFile?: string): string | null {
  if (!isObject(value)) return "is not a JSON object";
  if (value.kind !== "confiture-backup") return 'has no kind "confiture-backup"';
  if (value.version !== 1) return `has version ${JSON.stringify(value.version)}, not 1`;
  const v = value;
  if (typeof v.file !== "string" || v.file === "" || v.file.includes("/")) return "has no valid file name";
  if (expectedFile !== undefined && v.file !== expectedFile)
    return `names "${v.file}", not "${expectedFile}"`;
  for (const key of ["database", "schema", "serverVersion", "pgDumpVersion", "fingerprint"] as const) {
    if (typeof v[key] !== "string" || v[key] === "") return `has no ${key}`;
  }
  if (v.dumpFormat !== "custom" && v.dumpFormat !== "directory") return "has no dumpFormat custom|directory";
  if (!isCount(v.compress)) return "has no compress level";
  if (!isCount(v.serverVersionNum)) return "has no serverVersionNum";
  if (!isIsoTime(v.startedAt)) return "has no valid startedAt";
  if (!isIsoTime(v.finishedAt)) return "has no valid finishedAt";
  if (!isCount(v.sizeBytes)) return "has no sizeBytes";
  if (!isHex64(v.sha256)) return "has no valid sha256";
  if (v.sha256Of !== "file" && v.sha256Of !== "directory-listing")
    return "has no sha256Of file|directory-listing";
  const m = v.migrations;
  if (!isObject(m) || typeof m.trackingTable !== "string" || !isCount(m.appliedCount)) {
    return "has no migrations { trackingTable, appliedCount, head }";
  }
  if (m.head !== null && typeof m.head !== "string") return "has an invalid migrations.head";
  const r = v.rowCounts;
  if (!isObject(r) || typeof r.exact !== "boolean" || !isObject(r.tables))
    return "has no rowCounts { exact, tables }";
  for (const [table, count] of Object.entries(r.tables)) {
    if (!isCount(count)) return `has an invalid row count for ${table}`;
  }
  if (v.snapshot !== null && typeof v.snapshot !== "string") return "has an invalid snapshot";
  return null;
}

/**
 * Reads and validates one metadata file. Throws BackupMetadataError (BACKUP_METADATA_INVALID)
 * when it is missing, not JSON, invalid, or names another dump than `<metaPath minus .meta.json>`.
 *
 * @example
 * const meta = await readBackupMetadata("backups/app_20261125T013000Z.dump.meta.json");
 */
export async function readBackupMetadata(metaPath: string): Promise<BackupMetadata> {
  let text: string;
  try {
    text = await readFile(metaPath, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BackupMetadataError(
      metaPath,
      code === "ENOENT" ? "does not exist" : `cannot be read (${code})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BackupMetadataError(metaPath, "is not valid JSON");
  }
  const name = basename(metaPath);
  const expected = name.endsWith(METADATA_SUFFIX) ? name.slice(0, -METADATA_SUFFIX.length) : undefined;
  const problem = metadataProblem(value, expected);
  if (problem !== null) throw new BackupMetadataError(metaPath, problem);
  return value as BackupMetadata;
}

/** The first thing wrong with `value` as a verification record, or null when it is valid. */
export function verificationProblem(value: unknown): string | null {
  if (!isObject(value)) return "is not a JSON object";
  if (!isIsoTime(value.verifiedAt)) return "has no valid verifiedAt";
  if (typeof value.ok !== "boolean") return "has no ok";
  if (!isCount(value.restoreMs)) return "has no restoreMs";
  return null;
}

/**
 * The verification record beside a dump, or null when there is none or it is unreadable
 * (an unreadable record never counts as "verified").
 */
export async function readBackupVerification(dumpPath: string): Promise<BackupVerification | null> {
  try {
    const value: unknown = JSON.parse(await readFile(verifiedPathOf(dumpPath), "utf8"));
    return verificationProblem(value) === null ? (value as BackupVerification) : null;
  } catch {
    return null;
  }
}

/**
 * Writes `<dump>.verified.json` (through a dot-prefixed partial file and a rename, so a reader
 * never sees half of it).
 */
export async function writeBackupVerification(dumpPath: string, record: BackupVerification): Promise<string> {
  const target = verifiedPathOf(dumpPath);
  const partial = join(dirname(target), partialName(basename(target)));
  await writeFile(partial, `${JSON.stringify(record, null, 2)}\n`);
  await rename(partial, target);
  return target;
}

/** One backup (or backup-looking thing) in a backup directory. */
export interface BackupEntry {
  /** The dump's name, e.g. `app_20261125T013000Z.dump`. */
  name: string;
  /** The dump's path (it may not exist: see `problem`). */
  path: string;
  /** Its metadata file's path (it may not exist: see `problem`). */
  metaPath: string;
  /** The valid metadata, or null. */
  metadata: BackupMetadata | null;
  /** Null for a complete Confiture backup; otherwise what is wrong (incomplete, no metadata, ...). */
  problem: string | null;
  /** The dump's size on disk (all files of a directory dump); 0 when it is missing. */
  sizeBytes: number;
  /** ISO 8601 UTC: the metadata's startedAt, else the time in the name, else the file's mtime. */
  startedAt: string;
}

/** Size of a file, or of all files under a directory; null when it does not exist. */
export async function diskSize(path: string): Promise<number | null> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(path);
  } catch {
    return null;
  }
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const child of await readdir(path)) total += (await diskSize(join(path, child))) ?? 0;
  return total;
}

/**
 * Every backup in `dir`, newest first: each metadata file (`*.dump.meta.json`) with its dump,
 * and each `*.dump` without metadata (reported, never counted as a backup). Dot-files (partial
 * writes) and other files are not listed. A missing directory lists nothing.
 *
 * @example
 * const good = (await listBackups("backups/postgres")).filter((b) => b.problem === null);
 */
export async function listBackups(dir: string): Promise<BackupEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const visible = names.filter((n) => !n.startsWith("."));
  const present = new Set(visible);
  const dumpNames = new Set<string>();
  for (const n of visible) {
    if (n.endsWith(METADATA_SUFFIX)) dumpNames.add(n.slice(0, -METADATA_SUFFIX.length));
    else if (n.endsWith(".dump")) dumpNames.add(n);
  }
  const entries = await Promise.all([...dumpNames].map((name) => describeEntry(dir, name, present)));
  return entries.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.name.localeCompare(a.name));
}

async function describeEntry(dir: string, name: string, present: Set<string>): Promise<BackupEntry> {
  const path = join(dir, name);
  const metaPath = metadataPathOf(path);
  const size = present.has(name) ? await diskSize(path) : null;
  let metadata: BackupMetadata | null = null;
  let problem: string | null = null;
  if (!present.has(basename(metaPath))) {
    problem = 'no metadata file (not made by "confiture backup create", or its metadata was lost)';
  } else {
    try {
      metadata = await readBackupMetadata(metaPath);
    } catch (error) {
      problem =
        error instanceof BackupMetadataError
          ? `metadata ${String(error.details?.problem)}`
          : `metadata unreadable: ${String(error)}`;
    }
    if (metadata !== null) problem = await dumpProblem(path, size, metadata);
  }
  const fromName = parseBackupName(name)?.startedAt.toISOString();
  let startedAt = metadata?.startedAt ?? fromName;
  if (startedAt === undefined) {
    const info = await stat(present.has(name) ? path : metaPath).catch(() => null);
    startedAt = (info?.mtime ?? new Date(0)).toISOString();
  }
  return { name, path, metaPath, metadata, problem, sizeBytes: size ?? 0, startedAt };
}

async function dumpProblem(path: string, size: number | null, meta: BackupMetadata): Promise<string | null> {
  if (size === null) return "incomplete: metadata without its dump (interrupted or deleted)";
  const isDir = (await lstat(path)).isDirectory();
  if (isDir !== (meta.dumpFormat === "directory")) {
    return `the dump is a ${isDir ? "directory" : "file"} but the metadata says format ${meta.dumpFormat}`;
  }
  if (size !== meta.sizeBytes)
    return `the dump has ${size} bytes, the metadata says ${meta.sizeBytes} (changed or truncated)`;
  return null;
}
