import { describe, expect, it } from "vitest";
import { redactDeep, redactSecrets } from "../../src/errors.js";
import { displayUrl } from "../../src/redact.js";

describe("redactSecrets", () => {
  it.each([
    ["postgres://app:s3cret@db:5432/x", "postgres://app:***@db:5432/x"],
    ["cannot connect to postgres://u:p@ss@h/db: refused", "cannot connect to postgres://u:***@h/db: refused"],
    ["postgresql://u@h/db", "postgresql://u@h/db"],
    ["host=a password=s3cret user=b", "host=a password=*** user=b"],
    ["host=a password='s 3' user=b", "host=a password=*** user=b"],
    ["CREATE ROLE app LOGIN PASSWORD 's3cret'", "CREATE ROLE app LOGIN PASSWORD '***'"],
    ["alter user x with encrypted password 'it''s'", "alter user x with encrypted password '***'"],
    ["ALTER ROLE x PASSWORD $p$s3cret$p$", "ALTER ROLE x PASSWORD '***'"],
    [
      "cannot connect to postgres://u:leak me 'now'@h/db: refused",
      "cannot connect to postgres://u:***@h/db: refused",
    ],
  ])("%s", (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });
});

describe("redactDeep", () => {
  it("redacts strings inside objects without breaking the JSON around them", () => {
    const doc = { message: "failed: host=h password=s3cret", nested: [{ q: "PASSWORD 's3cret'" }], n: 1 };
    const text = JSON.stringify(redactDeep(doc), null, 2);
    expect(text).not.toContain("s3cret");
    expect(JSON.parse(text)).toEqual({
      message: "failed: host=h password=***",
      nested: [{ q: "PASSWORD '***'" }],
      n: 1,
    });
  });
});

describe("displayUrl", () => {
  it("rebuilds the URL from its parts without the password, whatever characters it has", () => {
    expect(displayUrl("postgres://app:leak%20me%20'now'@db:5432/prod?sslmode=require")).toBe(
      "postgres://app:***@db:5432/prod",
    );
    expect(displayUrl("postgresql://app@db/prod")).toBe("postgresql://app@db/prod");
    expect(displayUrl("not a url with password=leak")).toBe("the configured database URL");
  });
});
