/**
 * `migrate generate NAME`: a new `<UTC timestamp>_<name>.up.sql` and `.down.sql` pair.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ConfitureConfig } from "../config/types.js";
import { UsageError } from "../errors.js";
import { MAX_MIGRATION_ID_LENGTH, migrationIdProblem, readMigrations } from "./files.js";

const TIMESTAMP_DIGITS = 14;

/** YYYYMMDDHHMMSS in UTC. */
function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(0, TIMESTAMP_DIGITS);
}

/**
 * Create an empty migration pair and return the paths.
 *
 * @example
 * await generateMigration(config, "add users email"); // 20261124120000_add_users_email.up.sql
 */
export async function generateMigration(
  config: ConfitureConfig,
  rawName: string,
  now: Date = new Date(),
): Promise<{ id: string; upPath: string; downPath: string }> {
  const name = rawName
    .trim()
    .replace(/[\s.]+/g, "_")
    .toLowerCase();
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    throw new UsageError(
      `migration name "${rawName}" must be letters, digits, spaces, "_" or "-" (e.g. "add_users_email")`,
      "BAD_MIGRATION_NAME",
    );
  }
  // Ids are `<14-digit UTC timestamp>_<name>`, and every id must fit the one rule (files.ts).
  const longestName = MAX_MIGRATION_ID_LENGTH - TIMESTAMP_DIGITS - 1;
  if (name.length > longestName) {
    const shown = name.length <= 60 ? name : `${name.slice(0, 60)}…`;
    throw new UsageError(
      `migration name "${shown}" is too long (${name.length} characters): the migration id ` +
        `<timestamp>_<name> may have at most ${MAX_MIGRATION_ID_LENGTH} characters, so the name at most ${longestName}; ` +
        `use a shorter name (e.g. "add_users_email")`,
      "BAD_MIGRATION_NAME",
    );
  }
  await mkdir(config.migrationsDir, { recursive: true });
  const existing = await readMigrations(config.migrationsDir, config);
  const versions = new Set(existing.map((f) => f.version));
  let t = now.getTime();
  // Two generates in the same second (or a clock behind the newest file) must not collide.
  const newest = existing.at(-1)?.version;
  let version = BigInt(timestamp(new Date(t)));
  while (
    versions.has(version) ||
    (newest !== undefined && String(newest).length === 14 && version <= newest)
  ) {
    t += 1000;
    version = BigInt(timestamp(new Date(t)));
  }
  const id = `${version}_${name}`;
  const idProblem = migrationIdProblem(id);
  if (idProblem !== undefined) {
    throw new UsageError(`migration id ${id} ${idProblem}; use a shorter name`, "BAD_MIGRATION_NAME");
  }
  const upPath = path.join(config.migrationsDir, `${id}.up.sql`);
  const downPath = path.join(config.migrationsDir, `${id}.down.sql`);
  await writeFile(
    upPath,
    `-- ${id}: write the change here. Add "-- confiture:no-transaction" as the first line\n-- for statements such as CREATE INDEX CONCURRENTLY.\n`,
    { flag: "wx" },
  );
  await writeFile(downPath, `-- Reverts ${id}.\n`, { flag: "wx" });
  return { id, upPath, downPath };
}
