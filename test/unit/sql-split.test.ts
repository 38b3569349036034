import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfitureError, SqlSyntaxError } from "../../src/errors.js";
import { lineOfCharIndex, splitSql } from "../../src/sql/split.js";

/**
 * Golden files: every `fixtures/splitter/<case>.sql` has a reviewed `<case>.json` holding
 * either the statements ({startLine, node, text}) or the error ({line, message}).
 * `UPDATE_GOLDEN=1` rewrites them; review the diff before committing.
 */
const FIXTURES = join(import.meta.dirname, "fixtures", "splitter");
const update = process.env.UPDATE_GOLDEN === "1";

type Golden =
  | { startLine: number; node: string; text: string }[]
  | { error: { line: number; message: string } };

async function run(sql: string): Promise<Golden> {
  try {
    const stmts = await splitSql(sql);
    for (const s of stmts) {
      expect(sql.slice(s.charStart, s.charEnd)).toBe(s.text);
      expect(lineOfCharIndex(sql, s.charStart)).toBe(s.startLine);
    }
    return stmts.map(({ startLine, node, text }) => ({ startLine, node, text }));
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    return { error: { line: error.line, message: error.message } };
  }
}

describe("splitSql golden files", () => {
  const cases = readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".sql"))
    .sort();

  it("has the fixtures", () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  for (const file of cases) {
    it(file, async () => {
      const sql = readFileSync(join(FIXTURES, file), "utf8");
      const actual = await run(sql);
      const goldenPath = join(FIXTURES, file.replace(/\.sql$/, ".json"));
      if (update) writeFileSync(goldenPath, `${JSON.stringify(actual, null, 2)}\n`);
      expect(actual).toEqual(JSON.parse(readFileSync(goldenPath, "utf8")));
    });
  }
});

describe("splitSql", () => {
  it("returns [] for empty, whitespace-only and comment-only input", async () => {
    expect(await splitSql("")).toEqual([]);
    expect(await splitSql(" \n\t\r\n")).toEqual([]);
    expect(await splitSql("-- c;\n/* x; /* y */ */")).toEqual([]);
    expect(await splitSql("\uFEFF-- only a BOM and a comment\n")).toEqual([]);
    expect(await splitSql(";;\n;")).toEqual([]);
  });

  it("gives index, charStart, charEnd and the parse tree", async () => {
    const sql = "  -- lead\n CREATE INDEX CONCURRENTLY i ON t (a);\nDROP TABLE t";
    const [a, b] = await splitSql(sql);
    expect(a).toMatchObject({ index: 0, node: "IndexStmt", startLine: 2, charStart: 11 });
    expect(a?.text).toBe("CREATE INDEX CONCURRENTLY i ON t (a)");
    expect(a?.ast).toMatchObject({ IndexStmt: { concurrent: true } });
    expect(b).toMatchObject({ index: 1, node: "DropStmt", startLine: 3, text: "DROP TABLE t" });
  });

  it("maps UTF-8 byte offsets to string indices across astral characters", async () => {
    const prefix = "SELECT '😀😀😀 é 日本'; ";
    const sql = `${prefix}/* 🎉 */ SELECT 2;`;
    const [, second] = await splitSql(sql);
    expect(second?.text).toBe("SELECT 2");
    expect(second?.charStart).toBe(sql.indexOf("SELECT 2"));
  });

  it("drops trailing comments but keeps comments inside the statement", async () => {
    const [a, b] = await splitSql(
      "SELECT 1 -- one\n, 2 /* two */ -- tail\n;\nSELECT '--not a comment' -- real\n",
    );
    expect(a?.text).toBe("SELECT 1 -- one\n, 2");
    expect(b?.text).toBe("SELECT '--not a comment'");
  });

  it("keeps E'' strings ending in a backslash-escaped quote intact", async () => {
    const stmts = await splitSql("SELECT E'\\'' -- c\n; SELECT e'\\\\' /* c */");
    expect(stmts.map((s) => s.text)).toEqual(["SELECT E'\\''", "SELECT e'\\\\'"]);
  });

  it("agrees with the parser on random statements ending in comments (seeded)", async () => {
    // Tricky tokens: the statement text must come back exactly, trailing comments cut off.
    const values = [
      "'a;b'",
      "'it''s -- no'",
      "E'\\'; -- x'",
      "e'\\\\'",
      "$$ ; -- $$",
      "$t$ $$ ; /* $t$",
      '"id;--"',
      '"q"""',
      "U&'\\0041'",
      "X'1F'",
      "a$b",
      "$1",
      "é",
      '"😀"',
      "'😀;'",
      "'--'",
      "'/*'",
      "N'x'",
      "E'\\\\\\''",
      "1e3",
      "B'101'",
    ];
    const trivia = ["", " ", "--c;\n", "/* /* ; */ */", "\r\n", "/*-- 😀 */"];
    const tails = [" -- tail ; 'x'\n", " /* t ; */ ", "\n-- only\n", "", " /* a */ -- b"];
    let seed = 42;
    const pick = <T>(list: T[]): T => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return list[(seed >> 8) % list.length] as T;
    };
    let checked = 0;
    for (let k = 0; k < 1000; k += 1) {
      const bodies = [1, 2, 3].slice(0, 1 + (k % 3)).map(() => {
        const items = [1, 2, 3, 4].map(() => `${pick(trivia)}${pick(values)}${pick(trivia)}`);
        return `SELECT ${items.join(",")}, zz`;
      });
      const sql = `/* lead */ ${bodies.map((b) => b + pick(tails)).join(";\n")}${pick(tails)}`;
      const stmts = await splitSql(sql).catch(() => undefined);
      if (stmts === undefined) continue; // random junk the parser rejects
      expect(stmts.map((s) => s.text)).toEqual(bodies.map((b) => b.trim()));
      checked += 1;
    }
    expect(checked).toBeGreaterThan(700);
  });

  it("loads the parser once even when called concurrently", async () => {
    const results = await Promise.all(["SELECT 1", "SELECT 2; SELECT 3", "SELECT 4"].map((s) => splitSql(s)));
    expect(results.map((r) => r.length)).toEqual([1, 2, 1]);
  });
});

describe("SqlSyntaxError", () => {
  it("names the file line of the error, with the parser message", async () => {
    const error = await splitSql("SELECT 1;\n\n-- é 😀\nSELEC 2;").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlSyntaxError);
    expect(error).toBeInstanceOf(ConfitureError);
    const e = error as SqlSyntaxError;
    expect(e.message).toBe('syntax error at or near "SELEC" (line 4)');
    expect(e.parserMessage).toBe('syntax error at or near "SELEC"');
    expect(e).toMatchObject({ code: "SQL_SYNTAX", category: "failed", line: 4, column: 1 });
  });

  it("counts columns in string characters after astral characters on the same line", async () => {
    const e = (await splitSql("SELECT '😀é', 1 FROM WHERE;").catch((x: unknown) => x)) as SqlSyntaxError;
    expect(e.line).toBe(1);
    expect(e.column).toBe("SELECT '😀é', 1 FROM ".length + 1);
  });

  it("reports the first line for an error in the first token", async () => {
    const e = (await splitSql("SELEC 1").catch((x: unknown) => x)) as SqlSyntaxError;
    expect(e).toMatchObject({ line: 1, column: 1 });
  });

  it("counts CRLF and lone CR as one line break each", async () => {
    const crlf = (await splitSql("SELECT 1;\r\n\r\nSELEC 2").catch((x: unknown) => x)) as SqlSyntaxError;
    expect(crlf.line).toBe(3);
    const cr = (await splitSql("SELECT 1;\r\rSELEC 2").catch((x: unknown) => x)) as SqlSyntaxError;
    expect(cr.line).toBe(3);
  });

  it("refuses a NUL character instead of silently dropping the rest of the file", async () => {
    const e = (await splitSql("SELECT 1;\nSELECT 2\0; DROP TABLE t;").catch(
      (x: unknown) => x,
    )) as SqlSyntaxError;
    expect(e).toBeInstanceOf(SqlSyntaxError);
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^NUL character in SQL text \(line 2\)/);
  });

  it("explains COPY FROM stdin, with or without data rows", async () => {
    const bare = (await splitSql("SELECT 1;\nCOPY t FROM STDIN;").catch((x: unknown) => x)) as SqlSyntaxError;
    expect(bare.line).toBe(2);
    expect(bare.message).toMatch(/^COPY \.\.\. FROM stdin is not supported \(line 2\)\. .*INSERT/);
    const rows = (await splitSql("COPY t (a) FROM stdin;\n\\N\n\\.\n").catch(
      (x: unknown) => x,
    )) as SqlSyntaxError;
    expect(rows.line).toBe(1); // the COPY, not the data row the parser choked on
    expect(rows.parserMessage).toBe("COPY ... FROM stdin is not supported");
  });

  it("quotes only the start of an unterminated string or comment", async () => {
    const rest = Array.from({ length: 50 }, (_, i) => `SELECT ${i};`).join("\n");
    const e = (await splitSql(`SELECT 1;\nSELECT $body$ never closed\n${rest}`).catch(
      (x: unknown) => x,
    )) as SqlSyntaxError;
    expect(e.message).toBe('unterminated dollar-quoted string at or near "$body$ never closed..." (line 2)');
    const c = (await splitSql("SELECT 1; /* open\ncomment").catch((x: unknown) => x)) as SqlSyntaxError;
    expect(c.line).toBe(1);
    expect(c.message).not.toContain("\n");
  });

  it("accepts COPY from a server file and COPY TO STDOUT", async () => {
    const stmts = await splitSql("COPY t FROM '/tmp/t.csv' WITH (FORMAT csv);\nCOPY t TO STDOUT;");
    expect(stmts.map((s) => s.node)).toEqual(["CopyStmt", "CopyStmt"]);
  });
});

describe("lineOfCharIndex", () => {
  it("is 1-based and counts LF, CRLF and CR", () => {
    const text = "a\nb\r\nc\rd";
    expect(lineOfCharIndex(text, 0)).toBe(1);
    expect(lineOfCharIndex(text, 1)).toBe(1);
    expect(lineOfCharIndex(text, 2)).toBe(2);
    expect(lineOfCharIndex(text, 4)).toBe(2);
    expect(lineOfCharIndex(text, 5)).toBe(3);
    expect(lineOfCharIndex(text, 7)).toBe(4);
    expect(lineOfCharIndex(text, 100)).toBe(4);
  });
});
