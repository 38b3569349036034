/**
 * Reading migration files: what a `.sql` entry must be (a readable regular file, not a
 * directory, a dangling or looping link, a pipe), UTF-8 decoding, and the checksum reader that
 * hashes thousands of files with one buffer. Every failure names the file and the reason.
 */
import { isUtf8 } from "node:buffer";
import { hash } from "node:crypto";
import { closeSync, type Dirent, openSync, readFileSync, readlinkSync, readSync, statSync } from "node:fs";
import { MigrationFileError } from "../errors.js";
import { checksumOf, normalizeSql } from "./checksum.js";

/**
 * Decode a migration file, refusing anything that is not valid UTF-8. Read synchronously:
 * a promise-based read costs four thread-pool round trips per file (open, stat, read, close),
 * which for 1,000 pending migrations was 50 ms of `up` spent waiting on its own reads.
 */
export async function readSqlFile(file: string): Promise<string> {
  return decodeSql(file, readOrExplain(file));
}

export function readOrExplain(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw unreadable(file, error);
  }
}

/**
 * Why a directory entry named like a migration cannot be one, or undefined when it is a regular
 * file or a link to one. Directory listings carry the entry's type, so only symbolic links cost
 * a `stat`.
 */
export function unusableEntry(file: string, entry: Dirent): MigrationFileError | undefined {
  if (entry.isFile()) return undefined;
  if (entry.isDirectory()) return unusable(file, "is a directory, not a file");
  if (!entry.isSymbolicLink()) return unusable(file, `is not a regular file (${specialKind(entry)})`);
  let target: string;
  try {
    target = readlinkSync(file);
  } catch (error) {
    return unreadable(file, error);
  }
  try {
    const st = statSync(file);
    if (st.isFile()) return undefined;
    if (st.isDirectory())
      return unusable(file, `is a symbolic link to a directory (${target}), not to a file`);
    return unusable(file, `is a symbolic link to ${target}, which is not a regular file`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      return unusable(file, `is a symbolic link to ${target}, which does not exist (a dangling link)`);
    }
    if (code === "ELOOP") {
      return unusable(
        file,
        `is a symbolic link that never reaches a file (the links form a loop; this one points to ${target})`,
      );
    }
    return unreadable(file, error);
  }
}

function specialKind(entry: Dirent): string {
  if (entry.isFIFO()) return "a named pipe";
  if (entry.isSocket()) return "a socket";
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return "a device";
  return "not a file";
}

function unusable(file: string, problem: string): MigrationFileError {
  return new MigrationFileError(
    `${file} ${problem}; a migration must be a readable file: replace it with the migration's file, or remove it`,
    file,
    "MIGRATION_FILE_INVALID",
  );
}

/** A read that failed (permissions, a file that went away, ...) as a MigrationFileError naming the file. */
export function unreadable(file: string, error: unknown): MigrationFileError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return new MigrationFileError(
        `${file} cannot be read: permission denied for the user running Confiture; check the file's permissions (e.g. chmod a+r) and those of its directory`,
        file,
        "MIGRATION_FILE_INVALID",
        { cause: error },
      );
    case "EISDIR":
      return unusable(file, "is a directory, not a file");
    case "ENOENT":
      return new MigrationFileError(
        `${file} cannot be read: it no longer exists (was it moved or deleted while Confiture ran?); run the command again`,
        file,
        "MIGRATION_FILE_INVALID",
        { cause: error },
      );
    case "ELOOP":
      return unusable(file, "is a symbolic link that never reaches a file (a loop)");
    default:
      return new MigrationFileError(
        `${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
        file,
        "MIGRATION_FILE_INVALID",
        { cause: error },
      );
  }
}

export function decodeSql(file: string, bytes: Uint8Array): string {
  if (!isUtf8(bytes)) throw notUtf8(file);
  return normalizeSql(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
}

export function notUtf8(file: string): MigrationFileError {
  return new MigrationFileError(
    `${file} is not valid UTF-8; re-save it as UTF-8 (PostgreSQL migrations must be UTF-8 text)`,
    file,
    "MIGRATION_NOT_UTF8",
  );
}

/**
 * Reads migration files for their checksum with one reusable buffer (sequential sync reads:
 * thousands of small files, no descriptor exhaustion, little garbage). Validates UTF-8.
 */
export class SqlFileReader {
  private buf = Buffer.allocUnsafe(64 * 1024);

  read(file: string): { checksum: string; text: string | undefined } {
    let bytes: Buffer;
    try {
      const fd = openSync(file, "r");
      try {
        const n = readSync(fd, this.buf, 0, this.buf.length, 0);
        bytes = n < this.buf.length ? this.buf.subarray(0, n) : readFileSync(file);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      throw unreadable(file, error);
    }
    if (!isUtf8(bytes)) throw notUtf8(file);
    // Bytes already in normal form (no BOM, no CR) hash as they are; others go through the text.
    const needsNormalizing =
      bytes.includes(13) || (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf);
    if (!needsNormalizing) return { checksum: hash("sha256", bytes, "hex"), text: undefined };
    const text = normalizeSql(bytes.toString("utf8"));
    return { checksum: checksumOf(text), text };
  }
}
