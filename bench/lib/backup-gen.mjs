/**
 * The generated database for the backup benchmark (bench/backup.mjs): a confiture project with
 * two migrations (so the backup has history to record and verify), and batches of rows filled
 * with `insert ... select generate_series` (md5 text payloads) until `pg_database_size` reaches a
 * target.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const MIGRATIONS = {
  "00001_create_accounts_events.up.sql":
    "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, note text);\n" +
    "CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint NOT NULL, kind text NOT NULL,\n" +
    "  payload text NOT NULL, created_at timestamptz NOT NULL);\n",
  "00002_create_audit_log.up.sql":
    "CREATE TABLE audit_log (id bigint PRIMARY KEY, event_id bigint NOT NULL, entry text NOT NULL);\n" +
    "CREATE INDEX events_account_id_idx ON events (account_id);\n",
};

/**
 * Write the project: `confiture.yaml` (backup.dir inside the project, custom format, the given
 * compression level) and the two migrations.
 */
export function writeBackupProject(dir, { compress }) {
  mkdirSync(join(dir, "db/migrations"), { recursive: true });
  for (const [name, sql] of Object.entries(MIGRATIONS)) writeFileSync(join(dir, "db/migrations", name), sql);
  const backupDir = join(dir, "backups");
  writeFileSync(
    join(dir, "confiture.yaml"),
    `backup:\n  dir: ${backupDir}\n  format: custom\n  compress: ${compress}\n`,
  );
  return { backupDir, migrations: Object.keys(MIGRATIONS).length };
}

/** Rows per batch of events; each batch adds about 200 MB (heap + both indexes). */
const BATCH = 1_000_000;

/**
 * Insert batches until the database is at least `targetBytes` (pg_database_size). Each batch is
 * 1,000,000 events, 1,000 accounts and 200,000 audit rows. Returns the rows now in each table.
 * Run it with synchronous_commit off on the database (the caller's job).
 */
export async function growTo(admin, db, targetBytes, counts, log, batch = BATCH) {
  const size = async () =>
    Number((await admin.query("select pg_database_size(current_database()) as b", [], db)).rows[0].b);
  let bytes = await size();
  while (bytes < targetBytes) {
    const from = counts.events + 1;
    const to = counts.events + batch;
    await admin.query(
      "INSERT INTO events SELECT g, g % 50000, (array['login','order','refund','view'])[1 + (g % 4)::int], " +
        "md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text), timestamptz '2026-01-01' + g * interval '1 second' " +
        "FROM generate_series($1::bigint, $2::bigint) g",
      [from, to],
      db,
    );
    await admin.query(
      "INSERT INTO accounts SELECT g, 'user ' || g, 'user' || g || '@example.com', md5(g::text) " +
        "FROM generate_series($1::bigint, $2::bigint) g",
      [counts.accounts + 1, counts.accounts + batch / 1000],
      db,
    );
    await admin.query(
      "INSERT INTO audit_log SELECT g, g * 5, 'checked ' || md5(g::text) FROM generate_series($1::bigint, $2::bigint) g",
      [counts.audit + 1, counts.audit + batch / 5],
      db,
    );
    counts.events += batch;
    counts.accounts += batch / 1000;
    counts.audit += batch / 5;
    bytes = await size();
    log(`    ${counts.events.toLocaleString("en-US")} events: ${(bytes / 2 ** 30).toFixed(2)} GiB`);
  }
  return bytes;
}
