/**
 * Proves the test harness itself: per-file databases are distinct and empty, the throwaway
 * cluster really checks passwords over TCP, and drop() removes the database.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createTestDatabase,
  SENTINEL_PASSWORD,
  type TestDatabase,
  urlForDatabase,
  urlWithPassword,
  withClient,
} from "../support/database.js";

let a: TestDatabase;
let b: TestDatabase;

beforeAll(async () => {
  [a, b] = await Promise.all([createTestDatabase("harness a"), createTestDatabase("harness-b")]);
});

afterAll(async () => {
  await Promise.all([a?.drop(), b?.drop()]);
});

describe("test databases", () => {
  it("are distinct databases, named for the run", async () => {
    expect(a.name).not.toBe(b.name);
    expect(a.name).toMatch(new RegExp(`^t_${inject("runId")}_harness_a_[0-9a-f]{8}$`));
    const [ra, rb] = await Promise.all([
      a.query<{ db: string }>("SELECT current_database() AS db"),
      b.query<{ db: string }>("SELECT current_database() AS db"),
    ]);
    expect(ra.rows[0]?.db).toBe(a.name);
    expect(rb.rows[0]?.db).toBe(b.name);
  });

  it("are fresh: no user relations, and one database's tables are invisible to the other", async () => {
    const userTables = "SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace";
    expect((await a.query<{ n: number }>(userTables)).rows[0]?.n).toBe(0);
    await a.query("CREATE TABLE only_in_a (id int)");
    expect((await a.query<{ n: number }>(userTables)).rows[0]?.n).toBe(1);
    expect((await b.query<{ n: number }>(userTables)).rows[0]?.n).toBe(0);
  });

  it("pass parameters as values", async () => {
    const r = await a.query<{ v: string }>("SELECT $1::text AS v", ["'; DROP TABLE x; --"]);
    expect(r.rows[0]?.v).toBe("'; DROP TABLE x; --");
  });

  it("build URLs that keep credentials and switch database", () => {
    expect(urlForDatabase("postgres://u:p%40ss@h:5433/postgres?sslmode=disable", "t_x")).toBe(
      "postgres://u:p%40ss@h:5433/t_x?sslmode=disable",
    );
    const swapped = new URL(urlWithPassword("postgres://u:old@h:5433/db", "n@w/pw"));
    expect(decodeURIComponent(swapped.password)).toBe("n@w/pw");
  });
});

describe.runIf(inject("ownsCluster"))("the throwaway cluster", () => {
  it("accepts the sentinel password over TCP with scram-sha-256", async () => {
    const url = new URL(a.url);
    expect(url.hostname).toBe("127.0.0.1");
    expect(decodeURIComponent(url.password)).toBe(SENTINEL_PASSWORD);
    const method = await withClient(a.url, async (client) => {
      const r = await client.query<{ m: string }>(
        "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS m FROM pg_authid WHERE rolname = current_user",
      );
      return r.rows[0]?.m;
    });
    expect(method).toBe(true);
  });

  it("rejects a wrong password with SQLSTATE 28P01", async () => {
    const wrong = urlWithPassword(a.url, "not-the-password");
    const err = await withClient(wrong, async () => undefined).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(err?.code).toBe("28P01");
    expect(err?.message ?? "").not.toContain(SENTINEL_PASSWORD);
  });
});

describe("drop()", () => {
  it("removes the database even with a session still open, and is idempotent", async () => {
    const c = await createTestDatabase("dropme");
    const held = await withClient(c.url, async (client) => {
      // Keep a session open on the database while dropping it from elsewhere.
      const open = client.query("SELECT pg_sleep(30)").catch(() => "terminated");
      await c.drop();
      return open;
    }).catch(() => "terminated");
    expect(held).toBe("terminated");
    const exists = await withClient(c.adminUrl, (client) =>
      client.query("SELECT 1 FROM pg_database WHERE datname = $1", [c.name]),
    );
    expect(exists.rowCount).toBe(0);
    await expect(c.drop()).resolves.toBeUndefined();
  });
});
