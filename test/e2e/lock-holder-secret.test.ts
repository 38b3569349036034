/**
 * The lock holder's query is shown by `confiture lock status` and `migrate status --verbose`
 * (issue 6, defect 4). It is redacted whole BEFORE it is shortened: when it was cut to 120
 * characters first, `alter role victim password 'TopSecret…` lost its closing quote and was
 * printed in clear.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationLockKey } from "../../src/db/advisory-lock.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { cliFor, eventually, expectJson, type JsonDoc } from "../support/e2e.js";
import { makeProject, type TestProject } from "../support/project.js";

let db: TestDatabase;
const projects: TestProject[] = [];
const victim = `victim_${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  db = await createTestDatabase("lock holder secret");
  await db.query(`create role ${victim} nologin`);
});
afterAll(async () => {
  await Promise.all(projects.map((p) => p.cleanup()));
  await db?.query(`drop role if exists ${victim}`).catch(() => {});
  await db?.drop();
});

/** A session holding the migration lock of `schema`, which then ran `query`. */
async function holder(schema: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.url, application_name: "manual psql" });
  c.on("error", () => {});
  await c.connect();
  const key = migrationLockKey(schema, "confiture_migrations");
  await c.query("select pg_advisory_lock($1::int4, $2::int4)", [key.classid, key.objid]);
  return c;
}

/** `alter role ... password '<secret>'` padded so the secret straddles character `at`. */
function alterRole(secret: string, at: number): string {
  const head = `alter role ${victim} password '`;
  const pad = at - 10 - head.length - "/*  */ ".length;
  const query = `/* ${"-".repeat(pad)} */ ${head}${secret}'`;
  const start = query.indexOf(secret);
  expect(start).toBeLessThan(at);
  expect(start + secret.length).toBeGreaterThan(at);
  return query;
}

describe("the lock holder's query never shows a password", () => {
  it.each([
    ["idle after running it", false],
    ["still running it", true],
  ] as const)("holder %s: lock status and migrate status --verbose hide it", async (_what, running) => {
    const schema = running ? "lhs_running" : "lhs_idle";
    const p = await makeProject({ config: `schema: ${schema}\n` });
    projects.push(p);
    const cli = cliFor(p.dir, { DATABASE_URL: db.url });
    expect((await cli(["init"])).code).toBe(0);

    for (const at of [120, 100, 125]) {
      const secret = `TopSecretLiteral_${randomBytes(12).toString("hex")}`;
      const c = await holder(schema);
      let sleeping: Promise<unknown> | undefined;
      try {
        const alter = alterRole(secret, at);
        if (running) {
          // One message: the role is altered, then the session sleeps with that text as its query.
          sleeping = c.query(`${alter}; select pg_sleep(60)`).catch(() => {});
          await eventually(async () => {
            const r = await db.query(
              "select 1 from pg_stat_activity where application_name = 'manual psql' and state = 'active' and query like '%pg_sleep(60)%'",
            );
            return r.rowCount ? true : undefined;
          }, "the holder to be running its query");
        } else {
          await c.query(alter);
        }

        const lock = await cli(["lock", "status"]);
        expect(lock.stdout + lock.stderr).not.toContain("TopSecret");
        expect(lock.code, lock.stderr).toBe(0);
        expect(lock.stdout).toMatch(/is held by:\n {2}pid {10}\d+\n/);
        expect(lock.stdout).toContain(`alter role ${victim} password '***'`);

        const status = await cli(["migrate", "status", "--verbose"]);
        expect(status.stdout + status.stderr).not.toContain("TopSecret");
        expect(status.code, status.stderr).toBe(0);
        expect(status.stdout).toMatch(/Lock: held by pid \d+/);

        for (const args of [
          ["lock", "status", "--format", "json"],
          ["migrate", "status", "--verbose", "--format", "json"],
        ]) {
          const r = await cli(args);
          const doc = expectJson(r, 0, true) as JsonDoc;
          expect(JSON.stringify(doc)).not.toContain("TopSecret");
        }
      } finally {
        if (sleeping) {
          await db.query(
            "select pg_cancel_backend(pid) from pg_stat_activity where application_name = 'manual psql'",
          );
          await sleeping;
        }
        await c.end().catch(() => {});
      }
    }
  });
});
