/**
 * Reads db/migrations into an ordered list of migrations.
 *
 * File names are `<version>_<name>.up.sql` and optional `<version>_<name>.down.sql`, where
 * `<version>` is digits ordered by numeric value. The migration id is the file stem without
 * `.up.sql` (`001_create_users`) — what the tracking table stores in `version`.
 */
import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { MigrationFileError } from "../errors.js";
import { decodeSql, readOrExplain, SqlFileReader, unusableEntry } from "./file-read.js";

export { readSqlFile } from "./file-read.js";

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

/**
 * The longest migration id (`<version>_<name>`, the file name without `.up.sql`). The tracking
 * table's writer (history/rows.ts) accepts ids of at most this length too; a test holds the two
 * equal. Ids longer than this are refused when a file is read and by `migrate generate`.
 */
export const MAX_MIGRATION_ID_LENGTH = 200;

/** A migration id: digits, `_`, then a name of letters, digits, `_` and `-`. */
const ID_PATTERN = "(\\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)";
const ID_RE = new RegExp(`^${ID_PATTERN}$`);
const FILE_RE = new RegExp(`^${ID_PATTERN}\\.(up|down)\\.sql$`);

/**
 * The one rule for migration ids, for files on disk and for `migrate generate`: undefined when
 * `id` is valid, otherwise what is wrong, as a phrase that reads after the id.
 * @example migrationIdProblem("001_create_users"); // undefined
 */
export function migrationIdProblem(id: string): string | undefined {
  if (!ID_RE.test(id)) {
    return "is not <digits>_<name> with a name of letters, digits, _ and - (e.g. 001_create_users)";
  }
  if (id.length > MAX_MIGRATION_ID_LENGTH) {
    return `is too long (${id.length} characters; migration ids may have at most ${MAX_MIGRATION_ID_LENGTH})`;
  }
  return undefined;
}

/** How a message quotes an id that may be very long: its start. */
function shownId(id: string): string {
  return id.length <= 60 ? `"${id}"` : `"${id.slice(0, 60)}…"`;
}

/**
 * Which configuration `dir` came from, so a missing directory can be explained: the config file
 * (undefined when none was found) and the directory it was looked for in. A ConfitureConfig fits.
 */
export interface MigrationsDirContext {
  configPath: string | undefined;
  projectDir: string;
}

/**
 * List and validate every migration in `dir`, ordered by numeric version.
 * Throws MigrationFileError for a missing directory, a `.sql` file whose name does not fit,
 * a down file without an up file, or two files with the same numeric version (naming both).
 * With `context` (the config), a missing directory in a project without confiture.yaml says so first.
 * @example const files = await readMigrations(config.migrationsDir, config);
 */
export async function readMigrations(dir: string, context?: MigrationsDirContext): Promise<MigrationFile[]> {
  return readListed(await listMigrations(dir, context));
}

/** A migration found in the directory and checked by name and kind, not read yet. */
export interface ListedMigration {
  id: string;
  version: bigint;
  name: string;
  upPath: string;
  downPath: string | undefined;
}

/**
 * The migrations directory listed and validated (names, ids, kinds of entry, duplicate
 * versions, orphan down files), in version order, without reading any file: `status` lists
 * first, then reads and hashes the files while its history query is on the server.
 */
export async function listMigrations(
  dir: string,
  context?: MigrationsDirContext,
): Promise<ListedMigration[]> {
  let entries: Dirent[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error("not a directory");
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    throw new MigrationFileError(missingDirMessage(dir, context), dir, "MIGRATIONS_DIR_MISSING");
  }
  // path.join per file is measurable at 10,000 files; the directory is normalized once.
  const base = path.resolve(dir) + path.sep;
  const ups = new Map<string, { version: bigint; name: string; file: string }>();
  const downs = new Map<string, string>();
  const byVersion = new Map<bigint, string>();
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const fileName = entry.name;
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
    const idProblem = migrationIdProblem(id);
    if (idProblem !== undefined) {
      throw new MigrationFileError(
        `${full}: the migration id ${shownId(id)} ${idProblem}; rename the file with a shorter name`,
        full,
        "MIGRATION_BAD_NAME",
      );
    }
    const problem = unusableEntry(full, entry);
    if (problem !== undefined) throw problem;
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
  return [...ups.entries()]
    .sort((a, b) => (a[1].version < b[1].version ? -1 : 1))
    .map(([id, u]) => ({ id, version: u.version, name: u.name, upPath: u.file, downPath: downs.get(id) }));
}

/** Read and hash listed migrations (synchronously, one reusable buffer). */
export function readListed(listed: ListedMigration[]): MigrationFile[] {
  const reader = new SqlFileReader();
  return listed.map((u) => {
    const { checksum, text } = reader.read(u.upPath);
    let upSql = text;
    return {
      ...u,
      checksum,
      // Only pending migrations need their text; decoding thousands of applied ones would
      // dominate `status` at scale, so it is read again on first use.
      get upSql(): string {
        upSql ??= decodeSql(u.upPath, readOrExplain(u.upPath));
        return upSql;
      },
    };
  });
}

function missingDirMessage(dir: string, context: MigrationsDirContext | undefined): string {
  if (context === undefined) {
    return `migrations directory ${dir} does not exist; run "confiture init" or set migrations_dir in confiture.yaml`;
  }
  if (context.configPath === undefined) {
    // Without a config file the project directory is the working directory: name dir from there.
    const rel = path.relative(context.projectDir, dir);
    const shown = rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? `./${rel}` : dir;
    return (
      `no confiture.yaml found in ${context.projectDir}: run this from your project's directory, ` +
      `pass -c FILE to use a config file elsewhere, or run "confiture init" to start a project here; ` +
      `without one the migrations directory is ${shown}, which does not exist either`
    );
  }
  return `migrations directory ${dir} does not exist; run "confiture init" or set migrations_dir in ${context.configPath}`;
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
