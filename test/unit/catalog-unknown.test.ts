/**
 * A relation kind introspection does not model (a future PostgreSQL's) is reported in
 * `unknown`, not dropped and not a crash. Pure logic: a fake session answers the catalog
 * queries (the queries themselves are tested against PostgreSQL in test/integration/catalog.test.ts).
 */
import { describe, expect, it } from "vitest";
import { introspectSchema } from "../../src/catalog/index.js";
import type { Session } from "../../src/db/session.js";

describe("introspectSchema with a relation kind it does not know", () => {
  it("lists it in unknown and models the rest", async () => {
    const answers = [
      [
        { name: "t", relkind: "r", parent: null, bound: null, view_definition: null, columns: [] },
        { name: "future", relkind: "x", parent: null, bound: null, view_definition: null, columns: [] },
      ],
      [], // constraints
      [], // indexes
      [], // triggers
      [], // policies
      [], // sequences
      [], // functions
      [], // types
      [], // extensions
    ];
    const session = { query: async () => answers.shift() ?? [] } as unknown as Session;
    const model = await introspectSchema(session, "app", { names: [] });
    expect(model.tables.map((t) => t.name)).toEqual(["t"]);
    expect(model.unknown).toEqual([{ kind: "relation kind 'x'", name: "future" }]);
  });
});
