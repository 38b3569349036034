import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checksumOf, normalizeSql } from "../../src/migrations/checksum.js";

const sha = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

describe("checksumOf", () => {
  it("is the SHA-256 hex of the LF text", () => {
    expect(checksumOf("create table t (id int);\n")).toBe(sha("create table t (id int);\n"));
  });
  it("ignores CRLF line endings and a UTF-8 BOM", () => {
    const lf = "create table t (id int);\ninsert into t values (1);\n";
    expect(checksumOf(lf.replace(/\n/g, "\r\n"))).toBe(checksumOf(lf));
    expect(checksumOf(`\uFEFF${lf}`)).toBe(checksumOf(lf));
  });
  it("changes when the content changes (a lone CR is content)", () => {
    expect(checksumOf("select 1;\n")).not.toBe(checksumOf("select 2;\n"));
    expect(normalizeSql("a\rb")).toBe("a\rb");
  });
});
