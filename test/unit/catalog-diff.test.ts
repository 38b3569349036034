/**
 * diffSchemas on hand-built models (pure logic; test/integration/catalog.test.ts diffs real
 * schemas): missing and extra tables, column order (which DDL cannot change, so it is reported),
 * and grouping by table before everything else.
 */
import { describe, expect, it } from "vitest";
import { diffSchemas, type SchemaModel, type TableInfo } from "../../src/catalog/index.js";

const column = (name: string) => ({
  name,
  type: "integer",
  notNull: false,
  default: null,
  identity: null,
  generated: null,
  collation: null,
});
const table = (name: string, columns: string[]): TableInfo => ({
  name,
  kind: "table",
  rowSecurity: "off",
  partitionOf: null,
  partitionBound: null,
  columns: columns.map(column),
  constraints: [],
  indexes: [],
  triggers: [],
  policies: [],
});
const model = (parts: Partial<SchemaModel>): SchemaModel => ({
  schema: "app",
  tables: [],
  views: [],
  sequences: [],
  functions: [],
  types: [],
  extensions: [],
  unknown: [],
  ...parts,
});

describe("diffSchemas", () => {
  it("reports missing and extra objects, column order, and groups by table first", () => {
    const expected = model({
      tables: [table("a", ["x", "y"]), table("gone", ["id"])],
      functions: [{ signature: "f()", kind: "function", definition: "CREATE FUNCTION f() ..." }],
    });
    const actual = model({
      tables: [table("a", ["y", "x", "z"]), table("new", ["id"])],
      views: [{ name: "v", materialized: false, definition: " SELECT 1;" }],
    });
    expect(
      diffSchemas(expected, actual).map((d) => [d.object, d.kind, d.property, d.expected, d.actual]),
    ).toEqual([
      ["column a.z", "extra", null, null, "integer"],
      ["table a", "changed", "column order", "x, y", "y, x"],
      ["table gone", "missing", null, "table (id integer)", null],
      ["table new", "extra", null, null, "table (id integer)"],
      ["view v", "extra", null, null, " SELECT 1;"],
      ["function f()", "missing", null, "CREATE FUNCTION f() ...", null],
    ]);
    expect(diffSchemas(actual, actual)).toEqual([]);
  });

  it("a serial or identity sequence is not reported again when its column is missing or extra", () => {
    const seq = (name: string, ownedBy: string | null) => ({
      name,
      type: "integer",
      start: "1",
      increment: "1",
      min: "1",
      max: "2147483647",
      cycle: false,
      ownedBy,
    });
    const expected = model({
      tables: [table("gone", ["id"]), table("kept", ["id"])],
      sequences: [seq("gone_id_seq", "gone.id"), seq("kept_id_seq", "kept.id"), seq("tickets", null)],
    });
    const actual = model({ tables: [table("kept", ["id"])], sequences: [] });
    expect(diffSchemas(expected, actual).map((d) => [d.object, d.kind])).toEqual([
      ["table gone", "missing"],
      // Its column is still there: the sequence itself went missing, which is drift of its own.
      ["sequence kept_id_seq", "missing"],
      ["sequence tickets", "missing"],
    ]);
  });
});
