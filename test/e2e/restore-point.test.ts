/**
 * Recover to just before a migration: when the server archives WAL and the role may, `migrate up`
 * creates a named restore point (`confiture_before_<id>`) before its first migration, records it
 * in the events table and says so in one line; when the server does not archive, it says nothing.
 */
import { describe, expect, it } from "vitest";
import { startArchivingCluster } from "../support/archiving-cluster.js";
import { cliFor, expectJson, fileDatabase } from "../support/e2e.js";
import { makeProject } from "../support/project.js";

const suite = fileDatabase("restore point");

describe("restore point before the first migration", () => {
  it("on a server that archives WAL: named, recorded in the events table, said once; not in a dry run", async () => {
    const cluster = await startArchivingCluster("true");
    const p = await makeProject({
      config: "schema: public\n",
      migrations: {
        "001_users.up.sql": "create table users (id int primary key);\n",
        "002_drop_users.up.sql": "drop table users;\n",
      },
    });
    suite.track(p);
    try {
      const cli = cliFor(p.dir, { DATABASE_URL: cluster.url });
      const dry = await cli(["migrate", "up", "--dry-run"]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stderr).not.toContain("restore point");

      const first = await cli(["migrate", "up", "--target", "001_users"]);
      expect(first.code, first.stderr).toBe(0);
      const lines = first.stderr.split("\n").filter((l) => l.includes("restore point"));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^restore point confiture_before_001_users at [0-9A-F]+\/[0-9A-F]+: to recover to just before 001_users, recover with recovery_target_name = 'confiture_before_001_users'$/,
      );
      const doc = expectJson(await cli(["migrate", "up", "--format", "json"]), 0, true);
      expect(doc.restorePoint).toMatchObject({
        name: "confiture_before_002_drop_users",
        before: "002_drop_users",
      });
      const events = await cluster.query<{ details: { name: string; lsn: string } }>(
        "select details from confiture_events where command = 'restore point' order by id",
      );
      expect(events.map((e) => e.details.name)).toEqual([
        "confiture_before_001_users",
        "confiture_before_002_drop_users",
      ]);
      // Nothing to apply: no restore point.
      const again = await cli(["migrate", "up"]);
      expect(again.stderr).not.toContain("restore point");
    } finally {
      cluster.stop();
    }
  });

  it("on a server that does not archive WAL (the shared test cluster): nothing is said or recorded", async () => {
    await suite.db.query("create schema rp_off");
    const { cli } = await suite.project("rp_off", { "001_a.up.sql": "create table rp_off.a (id int);\n" });
    const r = await cli(["migrate", "up", "--format", "json"]);
    const doc = expectJson(r, 0, true);
    expect(doc.restorePoint).toBeNull();
    expect(r.stderr).not.toContain("restore point");
    const events = await suite.db.query(
      "select 1 from rp_off.confiture_events where command = 'restore point'",
    );
    expect(events.rowCount).toBe(0);
  });
});
