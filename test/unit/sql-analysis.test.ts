import { describe, expect, it } from "vitest";
import {
  findNonTransactional,
  findSessionTransactionControl,
  findTransactionControl,
  parseDirectives,
} from "../../src/sql/analysis.js";
import { splitSql } from "../../src/sql/split.js";

async function nonTx(sql: string, serverVersionNum?: number): Promise<(string | undefined)[]> {
  const [stmt] = await splitSql(sql);
  if (stmt === undefined) throw new Error("no statement");
  return findNonTransactional([stmt], serverVersionNum).map((f) => f.reason);
}

describe("findNonTransactional", () => {
  const refused: [string, string][] = [
    ["CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"],
    ["CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", "CREATE INDEX CONCURRENTLY"],
    ["DROP INDEX CONCURRENTLY IF EXISTS i", "DROP INDEX CONCURRENTLY"],
    ["REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"],
    ["REINDEX TABLE CONCURRENTLY t", "REINDEX CONCURRENTLY"],
    ["REINDEX (CONCURRENTLY, VERBOSE) TABLE t", "REINDEX CONCURRENTLY"],
    ["REINDEX (CONCURRENTLY true) TABLE t", "REINDEX CONCURRENTLY"],
    ["REINDEX (CONCURRENTLY 1) TABLE t", "REINDEX CONCURRENTLY"],
    ["REINDEX SCHEMA s", "REINDEX SCHEMA"],
    ["REINDEX DATABASE d", "REINDEX DATABASE"],
    ["REINDEX SYSTEM", "REINDEX SYSTEM"],
    ["VACUUM", "VACUUM"],
    ["VACUUM ANALYZE t", "VACUUM"],
    ["VACUUM (ANALYZE, VERBOSE) t", "VACUUM"],
    ["VACUUM FULL t", "VACUUM"],
    ["CREATE DATABASE d", "CREATE DATABASE"],
    ["DROP DATABASE IF EXISTS d WITH (FORCE)", "DROP DATABASE"],
    ["CREATE TABLESPACE ts LOCATION '/srv/ts'", "CREATE TABLESPACE"],
    ["DROP TABLESPACE ts", "DROP TABLESPACE"],
    ["ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM"],
    ["ALTER SYSTEM RESET ALL", "ALTER SYSTEM"],
    ["CLUSTER", "CLUSTER without a table name"],
    ["CLUSTER (VERBOSE)", "CLUSTER without a table name"],
    ["DISCARD ALL", "DISCARD ALL"],
    ["ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", "CREATE SUBSCRIPTION"],
    ["CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p WITH (create_slot = false)", "CREATE SUBSCRIPTION"],
    ["DROP SUBSCRIPTION IF EXISTS s", "DROP SUBSCRIPTION"],
    ["ALTER SUBSCRIPTION s REFRESH PUBLICATION", "ALTER SUBSCRIPTION ... REFRESH PUBLICATION"],
    ["ALTER SUBSCRIPTION s ADD PUBLICATION p", "ALTER SUBSCRIPTION ... PUBLICATION (with refresh)"],
    [
      "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = true)",
      "ALTER SUBSCRIPTION ... PUBLICATION (with refresh)",
    ],
    ["ALTER SUBSCRIPTION s SET (failover = true)", "ALTER SUBSCRIPTION ... SET (failover / two_phase)"],
    ["ALTER DATABASE d SET TABLESPACE ts", "ALTER DATABASE ... SET TABLESPACE"],
  ];
  for (const [sql, reason] of refused) {
    it(`refuses ${sql}`, async () => {
      expect(await nonTx(sql)).toEqual([reason]);
    });
  }

  const allowed = [
    "CREATE INDEX i ON t (a)",
    "DROP INDEX i",
    "DROP TABLE t",
    "REINDEX TABLE t",
    "REINDEX INDEX i",
    "REINDEX (CONCURRENTLY false) TABLE t",
    "REINDEX (CONCURRENTLY off) TABLE t",
    "REINDEX (CONCURRENTLY 0) TABLE t",
    "ANALYZE",
    "ANALYZE t",
    "ANALYZE VERBOSE t (a)",
    "CLUSTER t",
    "CLUSTER t USING i",
    "DISCARD PLANS",
    "ALTER TABLE p DETACH PARTITION c",
    "ALTER TABLE p DETACH PARTITION c FINALIZE",
    "ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (1)",
    "ALTER SUBSCRIPTION s DISABLE",
    "ALTER SUBSCRIPTION s CONNECTION 'x'",
    "ALTER SUBSCRIPTION s SET (slot_name = NONE)",
    "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)",
    "ALTER SUBSCRIPTION s DROP PUBLICATION p WITH (refresh = off)",
    "ALTER DATABASE d SET work_mem = '1MB'",
    "ALTER DATABASE d OWNER TO someone",
    "ALTER DATABASE d WITH ALLOW_CONNECTIONS false",
    "ALTER INDEX i SET TABLESPACE ts",
    "ALTER TABLESPACE ts OWNER TO someone",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY m",
    "ALTER TYPE mood ADD VALUE 'meh'",
    "ALTER TYPE mood RENAME VALUE 'a' TO 'b'",
    "SELECT 'CREATE INDEX CONCURRENTLY i ON t (a)'",
    "DO $$ BEGIN EXECUTE 'VACUUM'; END $$",
    "CREATE TABLE t (id int)",
  ];
  for (const sql of allowed) {
    it(`allows ${sql}`, async () => {
      expect(await nonTx(sql)).toEqual([]);
    });
  }

  it("refuses ALTER TYPE ... ADD VALUE only before PostgreSQL 12", async () => {
    const reason = "ALTER TYPE ... ADD VALUE (before PostgreSQL 12)";
    expect(await nonTx("ALTER TYPE mood ADD VALUE 'meh'", 110022)).toEqual([reason]);
    expect(await nonTx("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'ok'", 100000)).toEqual([
      reason,
    ]);
    expect(await nonTx("ALTER TYPE mood ADD VALUE 'meh'", 120000)).toEqual([]);
    expect(await nonTx("ALTER TYPE mood ADD VALUE 'meh'", 170002)).toEqual([]);
    expect(await nonTx("ALTER TYPE mood RENAME VALUE 'a' TO 'b'", 110000)).toEqual([]);
  });

  it("reports each offending statement of a file, in order, with its line", async () => {
    const stmts = await splitSql(
      "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);\nINSERT INTO t VALUES (1);\nVACUUM t;",
    );
    const found = findNonTransactional(stmts);
    expect(found.map((f) => [f.statement.startLine, f.reason])).toEqual([
      [2, "CREATE INDEX CONCURRENTLY"],
      [4, "VACUUM"],
    ]);
    expect(found[0]?.statement.index).toBe(1);
  });
});

describe("findTransactionControl", () => {
  const control: [string, string][] = [
    ["BEGIN", "BEGIN"],
    ["BEGIN WORK", "BEGIN"],
    ["BEGIN ISOLATION LEVEL SERIALIZABLE", "BEGIN"],
    ["START TRANSACTION", "START TRANSACTION"],
    ["COMMIT", "COMMIT"],
    ["END", "COMMIT"],
    ["COMMIT AND CHAIN", "COMMIT"],
    ["ROLLBACK", "ROLLBACK"],
    ["ABORT", "ROLLBACK"],
    ["PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION"],
    ["COMMIT PREPARED 'x'", "COMMIT PREPARED"],
    ["ROLLBACK PREPARED 'x'", "ROLLBACK PREPARED"],
  ];
  for (const [sql, reason] of control) {
    it(`finds ${sql}`, async () => {
      expect(findTransactionControl(await splitSql(sql)).map((f) => f.reason)).toEqual([reason]);
    });
  }

  it("allows savepoints, which work inside the migration's transaction", async () => {
    const stmts = await splitSql("SAVEPOINT s; RELEASE SAVEPOINT s; RELEASE s; ROLLBACK TO SAVEPOINT s;");
    expect(stmts).toHaveLength(4);
    expect(findTransactionControl(stmts)).toEqual([]);
  });

  it("does not flag BEGIN ATOMIC bodies, DO blocks or procedures", async () => {
    const stmts = await splitSql(`
      CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;
      CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END;
      DO $$ BEGIN PERFORM 1; COMMIT; END $$;
      CREATE FUNCTION g() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ROLLBACK; END $$;
      SELECT 'BEGIN; COMMIT;';
      SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
    `);
    expect(stmts).toHaveLength(6);
    expect(findTransactionControl(stmts)).toEqual([]);
    expect(findNonTransactional(stmts)).toEqual([]);
  });

  it("reports the lines of a hand-written transaction around a migration", async () => {
    const stmts = await splitSql("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n");
    expect(findTransactionControl(stmts).map((f) => [f.statement.startLine, f.reason])).toEqual([
      [1, "BEGIN"],
      [3, "COMMIT"],
    ]);
  });
});

describe("parseDirectives", () => {
  it("finds no directive in a plain file", () => {
    expect(parseDirectives("CREATE TABLE t (id int);")).toEqual({ noTransaction: false, unknown: [] });
    expect(parseDirectives("")).toEqual({ noTransaction: false, unknown: [] });
  });

  it("reads no-transaction in the header, with or without spaces", () => {
    for (const header of [
      "-- confiture:no-transaction",
      "--confiture:no-transaction",
      "--   confiture:no-transaction   ",
      "\t-- confiture:no-transaction",
      "-- confiture: no-transaction",
    ]) {
      expect(parseDirectives(`${header}\nCREATE INDEX CONCURRENTLY i ON t (a);`)).toEqual({
        noTransaction: true,
        unknown: [],
      });
    }
  });

  it("allows blank lines, other -- comments, a BOM and CRLF before and between directives", () => {
    const sql =
      "\uFEFF\r\n-- Adds the index without locking writes.\r\n\r\n-- confiture:no-transaction\r\nSELECT 1;";
    expect(parseDirectives(sql)).toEqual({ noTransaction: true, unknown: [] });
  });

  it("ignores directive-like comments after the first SQL token or after a block comment", () => {
    expect(parseDirectives("CREATE TABLE t (id int);\n-- confiture:no-transaction\n").noTransaction).toBe(
      false,
    );
    expect(parseDirectives("SELECT 1; -- confiture:no-transaction\n").noTransaction).toBe(false);
    expect(parseDirectives("/* header */\n-- confiture:no-transaction\nSELECT 1;").noTransaction).toBe(false);
  });

  it("returns unknown names so that the caller can refuse them", () => {
    const sql =
      "-- confiture:no-transaction\n-- confiture:no-transactions\n-- confiture:xyz\n-- Confiture:No-Transaction\n";
    expect(parseDirectives(sql)).toEqual({
      noTransaction: true,
      unknown: ["no-transactions", "xyz", "No-Transaction"],
    });
    expect(parseDirectives("-- confiture:no-transaction please\n").unknown).toEqual([
      "no-transaction please",
    ]);
    expect(parseDirectives("-- confiture:\n").unknown).toEqual([""]);
  });

  it("does not take other tools' directives or mentions of confiture for directives", () => {
    expect(parseDirectives("--! no-transaction\n-- see confiture docs: no-transaction\n")).toEqual({
      noTransaction: false,
      unknown: [],
    });
  });
});

describe("findSessionTransactionControl (no-transaction migrations)", () => {
  it("flags everything that opens or ends the session's own transaction, savepoints included", async () => {
    const stmts = await splitSql(
      "BEGIN; START TRANSACTION; COMMIT; END; ROLLBACK; ABORT; PREPARE TRANSACTION 'x'; SAVEPOINT s; RELEASE s; ROLLBACK TO s;",
    );
    expect(findSessionTransactionControl(stmts).map((f) => f.reason)).toEqual([
      "BEGIN",
      "START TRANSACTION",
      "COMMIT",
      "COMMIT",
      "ROLLBACK",
      "ROLLBACK",
      "PREPARE TRANSACTION",
      "SAVEPOINT",
      "RELEASE SAVEPOINT",
      "ROLLBACK TO SAVEPOINT",
    ]);
  });

  it("allows settling a prepared transaction, DO blocks and ordinary statements", async () => {
    const stmts = await splitSql(
      "COMMIT PREPARED 'x'; ROLLBACK PREPARED 'y'; DO $$ BEGIN NULL; END $$; CREATE INDEX CONCURRENTLY i ON t (a);",
    );
    expect(findSessionTransactionControl(stmts)).toEqual([]);
  });
});
