#!/usr/bin/env node
/**
 * The Node floor for `migrate status`: the script a person would write by hand to do the same
 * work, with nothing else. Connect, read the tracking table in one query, list
 * db/migrations/*.up.sql in the current directory, read and SHA-256-hash each file, compare with
 * the recorded checksum, print one line per migration.
 *
 *   DATABASE_URL=postgres://... node bench/floor.mjs     # cwd = a confiture project
 *
 * It reads confiture's own tracking table (public.confiture_migrations, the default), so it runs
 * against a database confiture has migrated and needs no table of its own. Confiture hashes the
 * text of the .up.sql file after stripping a UTF-8 BOM and turning CRLF into LF; the bench's
 * files have neither, so hashing the text as read gives the same checksum.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";

const dir = join(process.cwd(), "db", "migrations");

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const { rows } = await client.query(
  "SELECT version, checksum FROM public.confiture_migrations ORDER BY version",
);
await client.end();

const recorded = new Map(rows.map((row) => [row.version, row.checksum]));
const files = readdirSync(dir)
  .filter((name) => name.endsWith(".up.sql"))
  .sort();

const lines = [];
const seen = new Set();
for (const file of files) {
  const id = file.slice(0, -".up.sql".length);
  seen.add(id);
  const checksum = createHash("sha256")
    .update(readFileSync(join(dir, file), "utf8"))
    .digest("hex");
  const applied = recorded.get(id);
  if (applied === undefined) lines.push(`pending ${id}`);
  else if (applied === checksum) lines.push(`applied ${id}`);
  else lines.push(`checksum mismatch ${id}`);
}
for (const version of recorded.keys()) {
  if (!seen.has(version)) lines.push(`missing file ${version}`);
}
process.stdout.write(`${lines.join("\n")}\n`);
