/**
 * One fresh database per test file, created on the server the global setup provided.
 *
 * @example
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase("migrate"); });
 * afterAll(() => db.drop());
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { inject } from "vitest";
import { withClient } from "./pg-client.js";
import { DATABASE_PREFIX } from "./provided-context.js";

export { withClient } from "./pg-client.js";
export { SENTINEL_PASSWORD, TEST_ROLE } from "./provided-context.js";

/** A database created for one test file. */
export interface TestDatabase {
  /** Database name, `t_<runId>_<label>_<random>`. */
  name: string;
  /** URL of this database with the admin credentials. */
  url: string;
  /** URL of the `postgres` maintenance database (superuser or CREATEDB). */
  adminUrl: string;
  /** Run one statement on this database over a short-lived connection. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  /** Terminate its sessions and drop it. Safe to call twice. */
  drop(): Promise<void>;
}

/** Copy of `url` with its password replaced (percent-encoded as needed). */
export function urlWithPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/** Copy of `adminUrl` that points at database `dbName` instead. */
export function urlForDatabase(adminUrl: string, dbName: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${encodeURIComponent(dbName)}`;
  return u.toString();
}

function databaseName(label: string | undefined): string {
  const cleaned = (label ?? "db")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "");
  const suffix = randomBytes(4).toString("hex");
  // Identifiers are cut at 63 bytes; keep the random suffix intact so names stay unique.
  return `${DATABASE_PREFIX}${inject("runId")}_${cleaned.slice(0, 30) || "db"}_${suffix}`;
}

/**
 * Create a fresh, empty database. It is copied from template0 so nothing a previous run (or a
 * shared server's owner) put into template1 leaks into the tests.
 */
export async function createTestDatabase(label?: string): Promise<TestDatabase> {
  const adminUrl = inject("adminUrl");
  const name = databaseName(label);
  await withClient(adminUrl, (client) =>
    client.query(
      `CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
    ),
  );
  const url = urlForDatabase(adminUrl, name);
  return {
    name,
    url,
    adminUrl,
    query: (sql, params) => withClient(url, (client) => client.query(sql, params)),
    drop: () =>
      withClient(adminUrl, async (client) => {
        await client.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
          [name],
        );
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      }),
  };
}
