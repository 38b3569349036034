/**
 * File names in the backup directory: `<database>_<YYYYMMDDTHHMMSSZ>.dump` (UTC start time),
 * and the dot-prefixed `.<name>.partial` a file has while it is being written (never listed,
 * never mistaken for a finished backup).
 */

/** `20261125T013000Z` for 2026-11-25 01:30:00 UTC. */
export function utcStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
}

/** A database name made safe for a file name (anything but `A-Za-z0-9._-` becomes `_`). */
export function fileSafe(database: string): string {
  const safe = database.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  return safe === "" ? "_" : safe;
}

/** `app_20261125T013000Z.dump`. */
export function backupName(database: string, startedAt: Date): string {
  return `${fileSafe(database)}_${utcStamp(startedAt)}.dump`;
}

const BACKUP_NAME = /^(.+)_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.dump$/;

/** The database part and start time of a Confiture dump name, or null when it is not one. */
export function parseBackupName(name: string): { database: string; startedAt: Date } | null {
  const m = BACKUP_NAME.exec(name);
  if (m === null || name.startsWith(".")) return null;
  const [, database, y, mo, d, h, mi, s] = m as unknown as [string, string, ...string[]];
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}Z`;
  const startedAt = new Date(iso);
  // A stamp that does not read back (2026-02-30 rolls over to March) is not a time.
  if (Number.isNaN(startedAt.getTime()) || startedAt.toISOString() !== iso.replace("Z", ".000Z")) return null;
  return { database, startedAt };
}

/** `.app_20261125T013000Z.dump.partial`: where a file is written before its final rename. */
export function partialName(name: string): string {
  return `.${name}.partial`;
}

/** True for a leftover of an interrupted write (`.<name>.partial`). */
export function isPartialName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".partial");
}
