/**
 * The one list of error codes (src/errors.ts ERROR_CODES): every code the source throws or
 * reports is in it, the category comes from it, and the README's error-code table matches it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import {
  CheckFailedError,
  ConfitureError,
  ERROR_CODES,
  type ErrorCode,
  EXIT_CODES,
  MigrationFileError,
  UsageError,
} from "../../src/errors.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const CODE_SHAPE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$|^USAGE$/;

/**
 * String literals in code position: arguments of `new <Something>Error(...)` and values of a
 * `code:` property. These are the codes the program can throw or report.
 */
function codesUsedIn(file: string): Array<{ code: string; where: string }> {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: Array<{ code: string; where: string }> = [];
  const add = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node) && CODE_SHAPE.test(node.text)) {
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      found.push({ code: node.text, where: `${file.slice(root.length)}:${line}` });
    }
  };
  const visit = (node: ts.Node) => {
    if (ts.isNewExpression(node) && /Error$/.test(node.expression.getText(source))) {
      for (const arg of node.arguments ?? []) add(arg);
    }
    if (ts.isPropertyAssignment(node) && node.name.getText(source) === "code") {
      add(node.initializer);
      if (ts.isConditionalExpression(node.initializer)) {
        add(node.initializer.whenTrue);
        add(node.initializer.whenFalse);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("error codes", () => {
  it("every code thrown or reported in src/ is in ERROR_CODES", () => {
    const used = sourceFiles(join(root, "src")).flatMap(codesUsedIn);
    expect(used.length).toBeGreaterThan(20);
    const unknown = used.filter((u) => !(u.code in ERROR_CODES)).map((u) => `${u.code} at ${u.where}`);
    expect(unknown).toEqual([]);
  });

  it("the scan would notice a code that is not in the list", () => {
    const probe = join(root, "test", "unit", "fixtures", "error-code-probe.ts.txt");
    const found = codesUsedIn(probe).map((u) => u.code);
    expect(found).toContain("NOT_A_REAL_CODE");
    expect("NOT_A_REAL_CODE" in ERROR_CODES).toBe(false);
  });

  it("an error's category is the one its code has in the list", () => {
    expect(new UsageError("x", "DRY_RUN_NOT_POSSIBLE").category).toBe("usage");
    expect(new CheckFailedError("CHECKSUM_MISMATCH", "x").category).toBe("check");
    expect(new MigrationFileError("x", "f", "MIGRATION_EMPTY").category).toBe("usage");
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(new ConfitureError(code, "x").category).toBe(ERROR_CODES[code].category);
    }
  });

  it("withNote returns a new error and leaves the original as it was", () => {
    const original = new CheckFailedError("CHECKSUM_MISMATCH", "base", { details: { a: 1 } });
    const noted = original.withNote(" more", { b: 2 });
    expect(noted).toBeInstanceOf(CheckFailedError);
    expect([noted.message, noted.code, noted.details]).toEqual([
      "base more",
      "CHECKSUM_MISMATCH",
      { a: 1, b: 2 },
    ]);
    expect([original.message, original.details]).toEqual(["base", { a: 1 }]);
  });

  it("the README's error-code table lists exactly ERROR_CODES, each with its exit code", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const rows = [...readme.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|\s*([0-9/ ]+?)\s*\|/gm)].map((m) => [
      m[1]!,
      m[2]!.replace(/\s+/g, ""),
    ]);
    const expected = (Object.entries(ERROR_CODES) as Array<[ErrorCode, (typeof ERROR_CODES)[ErrorCode]]>).map(
      ([code, info]) => [
        code,
        "exitCodes" in info ? info.exitCodes.join("/") : String(EXIT_CODES[info.category]),
      ],
    );
    expect(rows.sort()).toEqual(expected.sort());
  });
});
