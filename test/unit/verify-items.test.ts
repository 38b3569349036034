/**
 * verify's pure rules, on hand-built facts: where a sequence stands (ascending, descending,
 * never used, empty column), history gaps, the items resting on the expected schema, index
 * leftovers of a failed concurrent rebuild, orphan evidence and the orphan-count SQL's MATCH
 * rule, and the smoke item's redaction.
 */
import { describe, expect, it } from "vitest";
import type { SchemaDifference } from "../../src/catalog/index.js";
import {
  driftItem,
  type Expected,
  historyItem,
  incompleteChecklist,
  summarizeFailures,
  tablesItem,
} from "../../src/health/verify-items.js";
import { orphanCountSql } from "../../src/health/verify-live.js";
import {
  constraintsItem,
  type ForeignKeyFact,
  foreignKeysItem,
  indexesItem,
  type LiveFacts,
  repairsFor,
  type SequenceFact,
  sequenceState,
  sequencesItem,
  statisticsItem,
} from "../../src/health/verify-live-items.js";
import { smokeItem } from "../../src/health/verify-smoke.js";

const none: Expected = { known: true, differences: [], source: "2 applied migration(s)", notes: [] };
const unknown: Expected = {
  known: false,
  reason: "permission denied to create database (use --scratch-url URL)",
  scratchHelps: true,
};

function facts(over: Partial<LiveFacts> = {}): LiveFacts {
  return {
    database: "app",
    tables: ["customers", "orders"],
    indexes: [],
    constraints: [],
    foreignKeys: [],
    orphans: undefined,
    sequences: [],
    stats: [],
    ...over,
  };
}

function seq(over: Partial<SequenceFact>): SequenceFact {
  return {
    name: "orders_id_seq",
    table: "orders",
    column: "id",
    increment: "1",
    lastValue: "10",
    isCalled: true,
    columnEdge: "42",
    ...over,
  };
}

const diff = (d: Partial<SchemaDifference>): SchemaDifference => ({
  object: "",
  table: null,
  kind: "missing",
  property: null,
  expected: null,
  actual: null,
  ...d,
});

describe("sequences", () => {
  it("the next value is last + increment once called, the start value before", () => {
    expect(sequenceState(seq({ lastValue: "10", columnEdge: "42" }))).toEqual({ next: 11n, behind: true });
    expect(sequenceState(seq({ lastValue: "42", columnEdge: "42" }))).toEqual({ next: 43n, behind: false });
    expect(sequenceState(seq({ lastValue: "42", isCalled: false, columnEdge: "42" }))).toEqual({
      next: 42n,
      behind: true,
    });
    expect(sequenceState(seq({ lastValue: "1", isCalled: false, columnEdge: null }))).toEqual({
      next: 1n,
      behind: false,
    });
    // Past 2^53: exact arithmetic.
    expect(sequenceState(seq({ lastValue: "9007199254740993", columnEdge: "9007199254740994" }))).toEqual({
      next: 9007199254740994n,
      behind: true,
    });
  });

  it("a descending sequence is behind when its next value is at or above the column's min", () => {
    const down = seq({ increment: "-1", lastValue: "-5", columnEdge: "-9" });
    expect(sequenceState(down)).toEqual({ next: -6n, behind: true });
    expect(sequenceState({ ...down, lastValue: "-9" })).toEqual({ next: -10n, behind: false });
    expect(repairsFor(facts({ sequences: [down] }))).toEqual([
      {
        item: "sequences",
        kind: "setval",
        sequence: "orders_id_seq",
        table: "orders",
        column: "id",
        descending: true,
      },
    ]);
  });

  it("FAIL names the sequence, its last value and the column's max", () => {
    const item = sequencesItem(facts({ sequences: [seq({}), seq({ name: "ok_seq", lastValue: "50" })] }));
    expect(item.verdict).toBe("FAIL");
    expect(item.evidence).toContain("orders_id_seq (orders.id): last 10, column max 42");
    expect(item.evidence.join("\n")).not.toContain("ok_seq");
    expect(sequencesItem(facts({ sequences: [seq({ lastValue: "50" })] })).verdict).toBe("PASS");
  });
});

describe("history", () => {
  const m = (id: string, state: string, hasFile = true) => ({ id, state, hasFile });

  it("a pending migration older than an applied one is a gap", () => {
    const item = historyItem({
      migrations: [
        m("001_a", "applied"),
        m("002_b", "pending"),
        m("003_c", "applied"),
        m("004_d", "pending"),
      ],
      findings: [],
    });
    expect(item.verdict).toBe("FAIL");
    expect(item.evidence).toContain("002_b is pending but older than 003_c, which is applied (a gap)");
    expect(item.evidence.join("\n")).not.toContain("004_d");
  });

  it("pending migrations after the newest applied one are not a problem", () => {
    const item = historyItem({ migrations: [m("001_a", "applied"), m("002_b", "pending")], findings: [] });
    expect(item.verdict).toBe("PASS");
    expect(item.evidence[0]).toMatch(/^1 applied, 1 pending/);
  });

  it("migration files but none recorded as applied (an empty or wrongly restored database) fail it", () => {
    const item = historyItem({ migrations: [m("001_a", "pending"), m("002_b", "pending")], findings: [] });
    expect(item.verdict).toBe("FAIL");
    expect(item.evidence[1]).toBe(
      'no migration is recorded as applied (2 file(s)): an empty or wrongly restored database, or lost history (see "confiture migrate status")',
    );
    // Only a failed row recorded: still nothing applied.
    const failedOnly = historyItem({
      migrations: [m("001_a", "failed"), m("002_b", "pending")],
      findings: [{ code: "FAILED_MIGRATION_PRESENT", message: "001_a is recorded as failed" }],
    });
    expect(failedOnly.evidence).toContain("001_a is recorded as failed");
    expect(failedOnly.evidence.join("\n")).toContain("no migration is recorded as applied (2 file(s))");
    // Lost history says it in its own words; no files at all is nothing to apply.
    const lost = historyItem({
      migrations: [m("001_a", "pending")],
      findings: [{ code: "HISTORY_LOST", message: "the history is empty but schema app holds 3 object(s)" }],
    });
    expect(lost.evidence.join("\n")).not.toContain("no migration is recorded");
    expect(historyItem({ migrations: [], findings: [] }).verdict).toBe("PASS");
    expect(historyItem({ migrations: [m("001_a", "baseline")], findings: [] }).verdict).toBe("PASS");
  });

  it("status findings (failed, mismatch, missing file) fail it", () => {
    const item = historyItem({
      migrations: [m("001_a", "failed"), m("009_gone", "missing file", false)],
      findings: [{ code: "FAILED_MIGRATION_PRESENT", message: "001_a is recorded as failed" }],
    });
    expect(item.verdict).toBe("FAIL");
    expect(item.evidence).toContain("001_a is recorded as failed");
  });
});

describe("items resting on the expected schema", () => {
  it("SKIP with the reason when the expected schema could not be built", () => {
    for (const item of [tablesItem(["a"], unknown), driftItem(unknown)]) {
      expect(item.verdict).toBe("SKIP");
      expect(item.evidence[0]).toContain("--scratch-url");
    }
    // The validity half still decides: an invalid index fails whatever the expected schema.
    const bad = facts({ indexes: [{ table: "orders", name: "orders_x", valid: false, ready: true }] });
    expect(indexesItem(bad, unknown).verdict).toBe("FAIL");
    expect(indexesItem(facts(), unknown).verdict).toBe("SKIP");
    expect(indexesItem(facts(), none).verdict).toBe("PASS");
  });

  it("an incomplete checklist says which items were not checked and why, naming --scratch-url where it helps", () => {
    const noCreatedb = incompleteChecklist({
      reason: 'cannot create a scratch database on postgres://x@h/db: role "x" may not create databases',
      scratchHelps: true,
    });
    expect(noCreatedb).toBe(
      "tables and drift were not checked, nor whether the expected indexes, constraints and foreign keys exist: " +
        'the expected schema could not be built: cannot create a scratch database on postgres://x@h/db: role "x" may not create databases; ' +
        "give an empty database to build it in with --scratch-url URL",
    );
    // Said once when the reason already names it.
    expect(
      incompleteChecklist(unknown as { reason: string; scratchHelps: boolean }).match(/--scratch-url/g),
    ).toHaveLength(1);
    const replay = incompleteChecklist({ reason: "001_t failed when replayed", scratchHelps: false });
    expect(replay).not.toContain("--scratch-url");
    expect(replay).toContain("confiture migrate drift-detect");

    const items = [tablesItem(["a"], unknown), historyItem({ migrations: [], findings: [] })];
    expect(summarizeFailures(items, "X")).toBe("verify incomplete: X");
    const failing = [...items, { name: "sequences" as const, verdict: "FAIL" as const, evidence: [] }];
    expect(summarizeFailures(failing, "X")).toBe(
      "verify failed: sequences; the checklist is also incomplete: X",
    );
    expect(summarizeFailures(failing)).toBe("verify failed: sequences");
  });

  it("missing tables, indexes and constraints fail their own items; extra tables only drift", () => {
    const expected: Expected = {
      known: true,
      source: "2 applied migration(s)",
      notes: [],
      differences: [
        diff({ object: "table orders", table: "orders", expected: "table (id integer)" }),
        diff({ object: "table scratch", table: "scratch", kind: "extra", actual: "table (x int)" }),
        diff({ object: "index customers_email_idx", table: "customers", expected: "CREATE INDEX ..." }),
        diff({
          object: "constraint customers.email_check",
          table: "customers",
          expected: "CHECK (email <> '')",
        }),
        diff({
          object: "constraint customers.customers_ref_fkey",
          table: "customers",
          expected: "FOREIGN KEY (ref) ...",
        }),
      ],
    };
    const tables = tablesItem(["customers", "scratch"], expected);
    expect(tables.verdict).toBe("FAIL");
    expect(tables.evidence[0]).toBe("1 of 2 expected table(s) missing");
    expect(tables.evidence[1]).toBe("missing: orders table (id integer)");
    expect(indexesItem(facts(), expected).evidence).toContain(
      "missing: index customers_email_idx on customers: CREATE INDEX ...",
    );
    const constraints = constraintsItem(facts(), expected);
    expect(constraints.verdict).toBe("FAIL");
    expect(constraints.evidence.join("\n")).not.toContain("customers_ref_fkey");
    expect(foreignKeysItem(facts(), expected, "app").evidence.join("\n")).toContain("customers_ref_fkey");
    const drift = driftItem(expected);
    expect(drift.verdict).toBe("FAIL");
    expect(drift.evidence[0]).toBe("5 difference(s) from 2 applied migration(s)");
  });

  it("drift lists at most ten differences and says how many more", () => {
    const many = Array.from({ length: 13 }, (_, i) =>
      diff({ object: `view v${i}`, kind: "extra", actual: "x" }),
    );
    const item = driftItem({ known: true, differences: many, source: "s", notes: [] });
    expect(item.evidence).toHaveLength(1 + 10 + 1);
    expect(item.evidence.at(-1)).toMatch(/^and 3 more/);
  });
});

describe("indexes", () => {
  it("a _ccnew copy left by a failed REINDEX CONCURRENTLY is dropped, first; the index itself rebuilt", () => {
    const f = facts({
      indexes: [
        { table: "users", name: "users_email_key", valid: false, ready: true },
        { table: "users", name: "users_email_key_ccnew", valid: false, ready: false },
        { table: "users", name: "users_pkey", valid: true, ready: true },
      ],
    });
    expect(repairsFor(f)).toEqual([
      {
        item: "indexes",
        kind: "drop-leftover",
        table: "users",
        index: "users_email_key_ccnew",
        of: "users_email_key",
      },
      { item: "indexes", kind: "reindex", table: "users", index: "users_email_key" },
    ]);
    const item = indexesItem(f, none);
    expect(item.evidence[0]).toBe("2 of 3 index(es) invalid");
    expect(item.evidence[2]).toContain("left by a failed REINDEX CONCURRENTLY of users_email_key");
  });
});

describe("foreign keys", () => {
  const fk: ForeignKeyFact = {
    table: "orders",
    name: "orders_customer_fkey",
    relkind: "r",
    columns: ["customer_id"],
    refSchema: "app",
    refTable: "customers",
    refKind: "r",
    refColumns: ["id"],
    validated: true,
    match: "s",
  };

  it("without --deep says orphans were not counted; with it, names each FK's count", () => {
    expect(foreignKeysItem(facts({ foreignKeys: [fk] }), none, "app").evidence).toContain(
      "orphan rows not counted (use --deep)",
    );
    const item = foreignKeysItem(
      facts({ foreignKeys: [fk], orphans: new Map([["orders.orders_customer_fkey", 3]]) }),
      none,
      "app",
    );
    expect(item.verdict).toBe("FAIL");
    expect(item.evidence).toContain("orders.customer_id -> customers: 3 orphan row(s)");
  });

  it("MATCH SIMPLE skips rows with any NULL key column; MATCH FULL only all-NULL ones", () => {
    const two = { ...fk, columns: ["a", "b"], refColumns: ["x", "y"], refSchema: "other" };
    const simple = orphanCountSql("app", two);
    expect(simple).toContain(`where c."a" is not null and c."b" is not null and not exists`);
    expect(simple).toContain(`from only "app"."orders" c`);
    expect(simple).toContain(`from only "other"."customers" p where p."x" = c."a" and p."y" = c."b"`);
    const full = orphanCountSql("app", { ...two, match: "f", relkind: "p" });
    expect(full).toContain(`where (c."a" is not null or c."b" is not null) and not exists`);
    expect(full).toContain(`from "app"."orders" c`);
  });
});

describe("statistics and smoke tests", () => {
  it("only tables of 1,000 rows or more need statistics", () => {
    const item = statisticsItem(
      facts({
        stats: [
          { table: "empty", liveRows: 0, modifiedSinceAnalyze: 0, analysed: false },
          { table: "seeded", liveRows: 999, modifiedSinceAnalyze: 999, analysed: false },
          { table: "orders", liveRows: 10, modifiedSinceAnalyze: 1000, analysed: false },
          { table: "customers", liveRows: 5000, modifiedSinceAnalyze: 0, analysed: true },
        ],
      }),
    );
    expect(item.verdict).toBe("FAIL");
    expect(item.evidence.slice(1)).toEqual(["orders: ~1000 row(s), never analysed"]);
  });

  it("a smoke command's command line and output never show the URL's password", () => {
    const url = "postgres://app:s3cr3t-pw@db/prod";
    const item = smokeItem(
      [{ command: `psql ${url} -c 'select 1'`, exitCode: 2, problem: undefined, lastLine: "failed" }],
      url,
    );
    expect(item.verdict).toBe("FAIL");
    expect(item.evidence.join("\n")).not.toContain("s3cr3t-pw");
    expect(item.evidence[1]).toContain("exit 2");
    expect(smokeItem(undefined).verdict).toBe("SKIP");
  });
});
