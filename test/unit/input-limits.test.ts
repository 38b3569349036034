/**
 * The limits behind issue 7's items 8, 9, 10 and 12, held to each other and checked at their
 * edges: one migration-id length for files, `migrate generate` and the history writer; the events
 * table's name as config/ and history/ spell it; identifiers that fit PostgreSQL's 63 bytes; the
 * SQL parser's size limit; and confiture.yaml's duplicate keys, problem count and size.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { EVENTS_TABLE_NAME, settingProblem } from "../../src/config/values.js";
import { MAX_CONFIG_BYTES } from "../../src/config/yaml-source.js";
import { ConfigError } from "../../src/errors.js";
import { inlineHistoryStatement, MAX_INLINE_ID_LENGTH } from "../../src/history/rows.js";
import { EVENTS_TABLE, fitIdentifier, MAX_IDENTIFIER_BYTES } from "../../src/history/tables.js";
import { MAX_MIGRATION_ID_LENGTH, migrationIdProblem } from "../../src/migrations/files.js";
import { MAX_PARSED_BYTES, SqlParserLimitError, splitSql } from "../../src/sql/split.js";

const created: string[] = [];
afterAll(async () => {
  await Promise.all(created.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function configError(yaml: string): Promise<ConfigError> {
  const dir = await mkdtemp(join(tmpdir(), "confiture-limits-"));
  created.push(dir);
  await writeFile(join(dir, "confiture.yaml"), yaml);
  const error = await loadConfig({ cwd: dir, env: {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

const tables = { schema: "public", trackingTable: "confiture_migrations" };
const checksum = "a".repeat(64);

describe("migration ids", () => {
  it("files, generate and the history writer share one length limit", () => {
    expect(MAX_MIGRATION_ID_LENGTH).toBe(MAX_INLINE_ID_LENGTH);
    const longest = `001_${"x".repeat(MAX_MIGRATION_ID_LENGTH - 4)}`;
    expect(migrationIdProblem(longest)).toBeUndefined();
    const name = longest.slice(4);
    expect(() =>
      inlineHistoryStatement(tables, { kind: "applied", version: longest, name, checksum }),
    ).not.toThrow();
    const tooLong = `${longest}x`;
    expect(migrationIdProblem(tooLong)).toBe(
      `is too long (${MAX_MIGRATION_ID_LENGTH + 1} characters; migration ids may have at most ${MAX_MIGRATION_ID_LENGTH})`,
    );
    expect(() => inlineHistoryStatement(tables, { kind: "deleted", version: tooLong })).toThrow();
  });

  it("characters: digits, _, then letters, digits, _ and -", () => {
    expect(migrationIdProblem("001_create_users")).toBeUndefined();
    expect(migrationIdProblem("20261124120000_add-email_2")).toBeUndefined();
    for (const bad of ["create_users", "001_", "001_-x", "001_a b", "001_a'b", "001_é", "x001_a"]) {
      expect(migrationIdProblem(bad), bad).toMatch(/^is not <digits>_<name>/);
    }
  });
});

describe("the events table", () => {
  it("config/ and history/ spell its name the same", () => {
    expect(EVENTS_TABLE_NAME).toBe(EVENTS_TABLE);
    expect(settingProblem(["tracking_table"], EVENTS_TABLE)).toMatch(/^must not be "confiture_events"/);
    expect(settingProblem(["tracking_table"], "confiture_migrations")).toBeUndefined();
    // Identifiers are quoted, so only the exact name is the events table.
    expect(settingProblem(["tracking_table"], "Confiture_Events")).toBeUndefined();
    expect(settingProblem(["schema"], EVENTS_TABLE)).toBeUndefined();
  });
});

describe("fitIdentifier", () => {
  it("keeps the suffix whole and the result within 63 bytes, for every base length", () => {
    for (const suffix of ["_backup", "_backup_20261124120000", "_backup_20261124120000_99_pkey"]) {
      for (let length = 1; length <= 80; length++) {
        const name = fitIdentifier("t".repeat(length), suffix);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
        expect(name.endsWith(suffix)).toBe(true);
        if (length + suffix.length <= MAX_IDENTIFIER_BYTES)
          expect(name).toBe(`${"t".repeat(length)}${suffix}`);
      }
      // Different suffixes never collide, whatever the base: the suffix is kept.
      expect(fitIdentifier("t".repeat(80), suffix)).toBe(`${"t".repeat(63 - suffix.length)}${suffix}`);
    }
  });

  it("cuts multi-byte names at a character boundary", () => {
    const name = fitIdentifier("é".repeat(40), "_backup");
    expect(Buffer.byteLength(name)).toBe(63); // 28 two-byte characters + 7
    expect(name).toBe(`${"é".repeat(28)}_backup`);
    expect(fitIdentifier("日本".repeat(20), "_pkey")).toBe(`${"日本".repeat(9)}日_pkey`);
  });
});

describe("the SQL parser's size limit", () => {
  /** `select 1;` lines, padded with spaces to exactly MAX_PARSED_BYTES. */
  const atLimit = "select 1;\n".repeat(MAX_PARSED_BYTES / 10).padEnd(MAX_PARSED_BYTES, " ");
  it("refuses a text over the limit before parsing it", async () => {
    const sql = `${atLimit}x`;
    const started = performance.now();
    const error = await splitSql(sql).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(SqlParserLimitError);
    expect((error as SqlParserLimitError).limit).toBe("size");
    expect((error as SqlParserLimitError).bytes).toBe(MAX_PARSED_BYTES + 1);
  });

  it("parses a text at the limit: 2 MB of statements, or one 2 MB statement of the densest shape measured", async () => {
    expect(Buffer.byteLength(atLimit)).toBe(MAX_PARSED_BYTES);
    expect(await splitSql(atLimit)).toHaveLength(Math.floor(MAX_PARSED_BYTES / 10));
    const head = "select 1 order by a";
    const dense = `${head}${",a".repeat((MAX_PARSED_BYTES - head.length - 1) / 2)};`;
    expect(Buffer.byteLength(dense)).toBeLessThanOrEqual(MAX_PARSED_BYTES);
    expect(await splitSql(dense)).toHaveLength(1);
  }, 60_000);
});

describe("confiture.yaml", () => {
  it("a duplicate key is still an error at its line, in any mapping", async () => {
    const top = await configError("schema: a\nlock_timeout: 5s\nschema: b\n");
    expect(top.message).toMatch(/^confiture\.yaml:3: invalid YAML: Map keys must be unique/);
    const nested = await configError(
      "environments:\n  a:\n    protected: true\n  b:\n    schema: x\n    schema: y\n",
    );
    expect(nested.message).toMatch(/^confiture\.yaml:6: invalid YAML: Map keys must be unique/);
    const environment = await configError("environments:\n  a: {}\n  b: {}\n  a: {}\n");
    expect(environment.message).toMatch(/^confiture\.yaml:4: invalid YAML: Map keys must be unique/);
    // The earlier of a duplicate key and a later syntax error is reported.
    const first = await configError('schema: a\nschema: b\ndatabase_url: "unclosed\n');
    expect(first.message).toMatch(/^confiture\.yaml:2: invalid YAML: Map keys must be unique/);
    // Keys of different types are different keys, as the yaml package's own check has it.
    const dir = await mkdtemp(join(tmpdir(), "confiture-limits-"));
    created.push(dir);
    await writeFile(join(dir, "confiture.yaml"), 'environments:\n  1: {}\n  "1": {}\n');
    await expect(loadConfig({ cwd: dir, env: {} })).resolves.toBeDefined();
  });

  it("thousands of problems: the first 20 by line, then how many more", async () => {
    const lines = ["environments:"];
    for (let i = 0; i < 3000; i++) lines.push(`  e${i}:`, `    databse_url: x`);
    const error = await configError(`${lines.join("\n")}\n`);
    const shown = error.message.split("\n");
    expect(shown).toHaveLength(21);
    expect(shown[0]).toBe(
      'confiture.yaml:3: unknown key "environments.e0.databse_url" (did you mean "database_url"?)',
    );
    expect(shown[19]).toMatch(/^confiture\.yaml:41: unknown key "environments\.e19\.databse_url"/);
    expect(shown[20]).toBe("... and 2980 more problems like these; fix them and run the command again");
    expect(error.line).toBe(3);
  });

  it("a file over the size limit is refused before it is parsed", async () => {
    const error = await configError(`schema: s\n${"# padding\n".repeat(MAX_CONFIG_BYTES / 10)}`);
    expect(error.message).toMatch(
      /^config file .*confiture\.yaml is 129 KB, larger than the 128 KB a config file may have/,
    );
  });
});
