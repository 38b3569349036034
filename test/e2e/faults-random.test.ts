/**
 * Connection cuts at random moments (issue 6): `migrate up` through a TCP fault proxy
 * (test/support/fault-proxy.ts) that cuts its connection at a seeded random byte offset, in a
 * random direction, drawn within the bytes a clean run exchanges (measured first), sometimes
 * with a TCP reset instead of a close.
 *
 * After every cut (test/support/fault-aftermath.ts): the exit code is 0, 1 or 5 (0 only when
 * everything was applied), a failure is exactly one stderr line, no claim of the run is
 * contradicted by the database, history and schema agree, the migration lock is free,
 * `migrate status` reports what history holds, and after settling a `failed` no-transaction
 * migration a second `migrate up` applies the rest exactly once.
 *
 * Seeds: FAULT_SEED=<n> fixes the base seed (trial i uses n + i); it is printed in each test name
 * and, with every trial's cut and outcome, in the log at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { checkAftermath, directQuery, prng, runIn, show } from "../support/fault-aftermath.js";
import type { QueryFn } from "../support/fault-claims.js";
import { type Direction, type FaultProxy, startFaultProxy } from "../support/fault-proxy.js";
import { makeProject, type TestProject } from "../support/project.js";

const CUT_TRIALS = 32;
const BASE_SEED = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 1_000_000));

const IDS = ["001_t1", "002_t2", "003_nt", "004_t4"] as const;
const NO_TX = "003_nt";
/** Rows migration 002_t2 inserts. */
const T2_ROWS = 100;

/**
 * Four migrations in `schema`: transactional t1, t2 (inserting rows), a no-transaction nt (with a
 * `create index concurrently` when `concurrently`, otherwise an insert), transactional t4.
 */
function migrations(schema: string, concurrently: boolean): Record<string, string> {
  return {
    "001_t1.up.sql": `create table ${schema}.t1 (id int primary key);\n`,
    "002_t2.up.sql": `create table ${schema}.t2 (id int);\ninsert into ${schema}.t2 select g from generate_series(1, ${T2_ROWS}) g;\n`,
    "003_nt.up.sql": [
      "-- confiture:no-transaction",
      `create table ${schema}.nt (id int);`,
      concurrently
        ? `create index concurrently nt_idx on ${schema}.nt (id);`
        : `insert into ${schema}.nt values (1);`,
      "",
    ].join("\n"),
    "004_t4.up.sql": `create table ${schema}.t4 (id int);\n`,
  };
}

let db: TestDatabase;
let direct: { query: QueryFn; close(): Promise<void> };
const projects: TestProject[] = [];
const proxies: FaultProxy[] = [];
/** Bytes a clean run exchanges on its one connection, per variant (with / without CONCURRENTLY). */
const clean = new Map<boolean, Record<Direction, number>>();
const landed: string[] = [];
const counts = { trials: 0, exit0: 0, exit1: 0, exit5: 0, failedNoTx: 0, falseClaims: 0, inconsistent: 0 };

async function newProject(schema: string, concurrently: boolean): Promise<TestProject> {
  const p = await makeProject({
    config: `database_url: \${DATABASE_URL}\nschema: ${schema}\nlock_timeout: 10s\n`,
    migrations: migrations(schema, concurrently),
  });
  projects.push(p);
  return p;
}

beforeAll(async () => {
  db = await createTestDatabase("faults random");
  direct = directQuery(db.url);
  for (const concurrently of [false, true]) {
    // Same schema-name length as the trials, so the byte counts line up.
    const schema = concurrently ? "rc_c1" : "rc_c0";
    const p = await newProject(schema, concurrently);
    const proxy = await startFaultProxy(db.url);
    proxies.push(proxy);
    const r = await runIn(p, ["migrate", "up"], proxy.url);
    expect(r.code, show(r)).toBe(0);
    expect(proxy.connections).toHaveLength(1);
    clean.set(concurrently, { ...proxy.connections[0]!.bytes });
  }
});

afterAll(async () => {
  console.log(
    `faults-random (FAULT_SEED=${BASE_SEED}): ${JSON.stringify(counts)}; clean run bytes ` +
      `${JSON.stringify(Object.fromEntries(clean))}\n  ${landed.join("\n  ")}`,
  );
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(projects.map((p) => p.cleanup()));
  await direct?.close();
  await db?.drop();
});

const trials = Array.from({ length: CUT_TRIALS }, (_, i) => ({ index: i + 1, seed: BASE_SEED + i + 1 }));

describe("randomized connection cuts during migrate up", () => {
  it.each(trials)("cut trial $index (seed $seed)", async ({ index, seed }) => {
    const random = prng(seed);
    const concurrently = random() < 0.5;
    const direction: Direction = random() < 0.5 ? "c2s" : "s2c";
    const total = clean.get(concurrently)![direction];
    const offset = Math.floor(random() * total);
    const reset = random() < 0.25;
    const schema = `rc_${String(index).padStart(2, "0")}`;
    const p = await newProject(schema, concurrently);
    const proxy = await startFaultProxy(db.url, {
      faults: { connection: 1, action: "cut", at: { afterBytes: offset, direction }, reset },
    });
    proxies.push(proxy);
    const plan = `cut ${direction} at ${offset}/${total} B${reset ? " (RST)" : ""}${concurrently ? ", concurrently" : ""}`;
    counts.trials++;
    try {
      const result = await runIn(p, ["migrate", "up"], proxy.url);
      if (result.code === 0) counts.exit0++;
      if (result.code === 1) counts.exit1++;
      if (result.code === 5) counts.exit5++;
      if (/recorded as failed/.test(result.stderr)) counts.failedNoTx++;
      const summary = await checkAftermath({
        result,
        p,
        schema,
        directUrl: db.url,
        query: direct.query,
        ids: IDS,
        noTx: NO_TX,
        rowCounts: { t2: T2_ROWS, ...(concurrently ? {} : { nt: 1 }) },
        extra: `FAULT_SEED=${BASE_SEED}, trial seed ${seed}: ${plan}\nproxy: ${proxy.describe()}`,
      });
      landed.push(`#${index} seed ${seed}: ${plan}: ${summary}`);
    } catch (err) {
      const message = (err as Error).message;
      if (message.startsWith("false claim")) counts.falseClaims++;
      else counts.inconsistent++;
      landed.push(`#${index} seed ${seed}: ${plan}: FAILED ${message.split("\n")[0]}`);
      throw err;
    } finally {
      await proxy.close();
    }
  });
});
