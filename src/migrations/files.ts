/**
 * Reads db/migrations into an ordered list of migrations.
 *
 * File names are `<version>_<name>.up.sql` and optional `<version>_<name>.down.sql`, where
 * `<version>` is digits ordered by numeric value. The migration id is the file stem without
 * `.up.sql` (`001_create_users`) — what the tracking table stores in `version`.
 */
import { isUtf8 } from "node:buffer";
import { hash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { MigrationFileError } from "../errors.js";
import { checksumOf, normalizeSql } from "./checksum.js";

/** One migration on disk. */
export interface MigrationFile {
  /** `001_create_users` */
  id: string;
  /** Numeric version (as bigint: timestamps exceed 2^53 only in theory, digits may be long). */
  version: bigint;
  /** `create_users` */
  name: string;
  upPath: string;
  downPath: string | undefined;
  /** SHA-256 of the normalized up file. */
  checksum: string;
  /** Up SQL, normalized (BOM stripped, LF line endings). Read on first access. */
  readonly upSql: string;
}

const FILE_RE = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.(up|down)\.sql$/;

/** Decode a migration file, refusing anything that is not valid UTF-8. */
export async function readSqlFile(file: string): Promise<string> {
  return decodeSql(file, await readFile(file));
}

function decodeSql(file: string, bytes: Uint8Array): string {
  if (!isUtf8(bytes)) throw notUtf8(file);
  return normalizeSql(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
}

function notUtf8(file: string): MigrationFileError {
  return new MigrationFileError(
    `${file} is not valid UTF-8; re-save it as UTF-8 (PostgreSQL migrations must be UTF-8 text)`,
    file,
    "MIGRATION_NOT_UTF8",
  );
}

/**
 * List and validate every migration in `dir`, ordered by numeric version.
 * Throws MigrationFileError for a missing directory, a `.sql` file whose name does not fit,
 * a down file without an up file, or two files with the same numeric version (naming both).
 */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  let names: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error("not a directory");
    names = await readdir(dir);
  } catch {
    throw new MigrationFileError(
      `migrations directory ${dir} does not exist; run "confiture init" or set migrations_dir in confiture.yaml`,
      dir,
      "MIGRATIONS_DIR_MISSING",
    );
  }
  // path.join per file is measurable at 10,000 files; the directory is normalized once.
  const base = path.resolve(dir) + path.sep;
  const ups = new Map<string, { version: bigint; name: string; file: string }>();
  const downs = new Map<string, string>();
  const byVersion = new Map<bigint, string>();
  for (const fileName of names.sort()) {
    if (fileName.startsWith(".") || !fileName.toLowerCase().endsWith(".sql")) continue;
    const m = FILE_RE.exec(fileName);
    if (!m) {
      throw new MigrationFileError(
        `${path.join(dir, fileName)}: migration file names must look like 001_create_users.up.sql ` +
          `(digits, underscore, name of letters/digits/_/-, then .up.sql or .down.sql); rename it`,
        path.join(dir, fileName),
        "MIGRATION_BAD_NAME",
      );
    }
    const [, digits, name, kind] = m as unknown as [string, string, string, "up" | "down"];
    const id = `${digits}_${name}`;
    const full = base + fileName;
    if (kind === "down") {
      downs.set(id, full);
      continue;
    }
    const version = BigInt(digits);
    const clash = byVersion.get(version);
    if (clash) {
      throw new MigrationFileError(
        `duplicate migration version ${digits}: ${clash} and ${full} have the same numeric version; renumber one of them`,
        full,
        "MIGRATION_DUPLICATE_VERSION",
      );
    }
    byVersion.set(version, full);
    ups.set(id, { version, name, file: full });
  }
  for (const [id, file] of downs) {
    if (!ups.has(id)) {
      throw new MigrationFileError(
        `${file} has no matching ${id}.up.sql; every down file needs its up file`,
        file,
        "MIGRATION_ORPHAN_DOWN",
      );
    }
  }
  const list = [...ups.entries()].sort((a, b) => (a[1].version < b[1].version ? -1 : 1));
  const reader = new SqlFileReader();
  return list.map(([id, u]) => {
    const { checksum, text } = reader.read(u.file);
    let upSql = text;
    return {
      id,
      version: u.version,
      name: u.name,
      upPath: u.file,
      downPath: downs.get(id),
      checksum,
      // Only pending migrations need their text; decoding thousands of applied ones would
      // dominate `status` at scale, so it is read again on first use.
      get upSql(): string {
        upSql ??= decodeSql(u.file, readFileSync(u.file));
        return upSql;
      },
    };
  });
}

/**
 * Reads migration files for their checksum with one reusable buffer (sequential sync reads:
 * thousands of small files, no descriptor exhaustion, little garbage). Validates UTF-8.
 */
class SqlFileReader {
  private buf = Buffer.allocUnsafe(64 * 1024);

  read(file: string): { checksum: string; text: string | undefined } {
    const fd = openSync(file, "r");
    let bytes: Buffer;
    try {
      const n = readSync(fd, this.buf, 0, this.buf.length, 0);
      bytes = n < this.buf.length ? this.buf.subarray(0, n) : readFileSync(file);
    } finally {
      closeSync(fd);
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

/** Find a migration by id (`001_create_users`), by bare version (`001` or `1`), or throw. */
export function findMigration(files: MigrationFile[], ref: string, what = "migration"): MigrationFile {
  const exact = files.find((f) => f.id === ref);
  if (exact) return exact;
  if (/^\d+$/.test(ref)) {
    const v = BigInt(ref);
    const byVersion = files.find((f) => f.version === v);
    if (byVersion) return byVersion;
  }
  throw new MigrationFileError(
    `${what} "${ref}" does not exist in the migrations directory; run "confiture migrate status" to see the ids`,
    undefined,
    "MIGRATION_NOT_FOUND",
  );
}
