import { describe, expect, it, vi } from "vitest";
import { Output } from "../../src/cli/output.js";
import { checkIdentifier } from "../../src/config/values.js";
import { describeHolder, type LockHolder } from "../../src/db/advisory-lock.js";
import { redactDeep, redactSecrets } from "../../src/errors.js";
import { isJsWhitespace } from "../../src/redact/chars.js";
import { clipRedacted, displayUrl, hideSecret, redactUntrusted, redactUrl } from "../../src/redact/index.js";

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

describe("redaction is linear in its input (defect 3)", () => {
  const MB = 1_000_000;
  /** Adversarial shapes for the regular expressions of earlier versions, at any size. */
  const shapes: Array<[string, (n: number) => string]> = [
    ["one long line of a", (n) => "a".repeat(n)],
    ["postgres:// then no @", (n) => `postgres://${"a".repeat(n)}`],
    ["postgres://u: then no @", (n) => `postgres://u:${"a".repeat(n)}`],
    ["postgres://u: then many @", (n) => `postgres://u:${"@".repeat(n)}`],
    ["password= then quotes", (n) => `password=${"'".repeat(n)}`],
    ["password= then double quotes", (n) => `password=${'"'.repeat(n)}`],
    ["password ' never closed", (n) => `password '${"a".repeat(n)}`],
    ["password $tag$ never closed", (n) => `password $tag$${"a".repeat(n)}`],
    ["many URLs", (n) => "postgres://u:p@h/db ".repeat(n / 20)],
    ["many URLs with spaced passwords, no @", (n) => "a://u:x y ".repeat(n / 10)],
    ["many @", (n) => "@".repeat(n)],
    ["many schemes", (n) => "a://".repeat(n / 4)],
    ["many colons after a scheme", (n) => `postgres://${":".repeat(n)}`],
    ["many password words", (n) => "password ".repeat(n / 9)],
    ["many password= without value", (n) => "password= ".repeat(n / 10)],
    ["many tolerant query parameters", (n) => `postgres://u:p@h/db?${"application_name=x@&".repeat(n / 20)}`],
    ["many lines each with a spaced URL password", (n) => "postgres://u:a b\n@".repeat(n / 18)],
  ];

  it.each(shapes)("1 MB of %s is redacted in well under a second", (_name, make) => {
    const input = make(MB);
    expect(input.length).toBeGreaterThan(MB * 0.95);
    for (const redact of [redactSecrets, redactUrl]) {
      const started = performance.now();
      const output = redact(input);
      const ms = performance.now() - started;
      expect(typeof output).toBe("string");
      expect(ms, `${redact.name}: ${ms.toFixed(0)} ms`).toBeLessThan(1000);
    }
  });

  it("a 1 MB input still has its secrets hidden", () => {
    const filler = "a".repeat(MB);
    expect(redactSecrets(`postgres://u:${filler}@h/db`)).toBe("postgres://u:***@h/db");
    expect(redactSecrets(`x postgres://u:${filler} ${filler}@h/db`)).toBe("x postgres://u:***@h/db");
    expect(redactSecrets(`alter role x password '${filler}`)).toBe("alter role x password '***'");
    expect(redactSecrets(`host=h password=${filler} user=u`)).toBe("host=h password=*** user=u");
  });

  it.each<[string, string, string]>([
    ["one long line of a", "a".repeat(30), "a".repeat(30)],
    ["postgres:// then no @", "postgres://aaaa", "postgres://aaaa"],
    ["postgres://u: then no @", "postgres://u:aaaa", "postgres://u:aaaa"],
    ["postgres://u: then many @", "postgres://u:@@@@@", "postgres://u:***@"],
    ["password= then quotes", `password=${"'".repeat(9)}`, "password=***"],
    ["password= then double quotes", `password=${'"'.repeat(9)}`, "password=***"],
    ["password ' never closed", "alter role v password 'TopSecret", "alter role v password '***'"],
    ["password $tag$ never closed", "alter role v password $t$TopSecret", "alter role v password '***'"],
    ["many URLs", "postgres://u:p@h/db ".repeat(3), "postgres://u:***@h/db ".repeat(3)],
    ["many @", "@".repeat(9), "@".repeat(9)],
    ["many schemes", "a://".repeat(5), "a://".repeat(5)],
    ["many password words", "password ".repeat(3), "password ".repeat(3)],
    [
      "many tolerant query parameters",
      "postgres://u:p@h/db?application_name=x@&user=y@z",
      "postgres://u:***@h/db?application_name=x@&user=y@z",
    ],
  ])("small %s: %s", (_name, input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });
});

describe("redaction hides more where the input is ambiguous, never less", () => {
  it.each([
    // A URL password with spaces and an @: up to the last @ of the line.
    ["connect postgres://u:my pass@word@h/db failed", "connect postgres://u:***@h/db failed"],
    // A literal cut short (track_activity_query_size, a shortened query) hides everything after it.
    ["alter role victim password 'TopSecretLiteral_abc", "alter role victim password '***'"],
    ["alter role v password 'it''s", "alter role v password '***'"],
    ["ALTER ROLE v PASSWORD $p$never closed", "ALTER ROLE v PASSWORD '***'"],
    // PostgreSQL's other string constants and dollar tags with digits.
    ["alter role v password E'it\\'s' valid until 'x'", "alter role v password '***' valid until 'x'"],
    ["alter role v password U&'d\\0061t' login", "alter role v password '***' login"],
    ["alter role v password $a1$s3cret$a1$ login", "alter role v password '***' login"],
    // What the conninfo reading left of a value quoted the SQL way.
    ["password='it''s' user=b", "password=*** user=b"],
    // A parameter or NULL is not a secret.
    ["alter role v password $1", "alter role v password $1"],
    ["alter role v password null", "alter role v password null"],
  ])("%s", (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it("hides at least what the regular expressions of earlier versions hid (seeded random inputs)", () => {
    const fragments = [
      ...["postgres://", "a://", "1://", "://", ":", "@", "/", "?", "&", "#", "application_name=", "user="],
      ...["password", "PASSWORD", "=", " ", "'", "''", '"', "$p$", "$$", "$P$", "\n", "E'", "\\", "\\'"],
      ...[";", "x", "***", "`", "u:", "\t", "é", "$a1$", "password '", "password=", "password $"],
    ];
    let state = 12345;
    const random = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return Math.floor((state / 2 ** 32) * n);
    };
    const leaks: string[] = [];
    for (let trial = 0; trial < 20_000 && leaks.length < 5; trial++) {
      let input = "";
      let secrets = 0;
      const parts = 1 + random(24);
      for (let i = 0; i < parts; i++) {
        input += random(4) === 0 ? `Zq${secrets++}.` : fragments[random(fragments.length)];
      }
      for (const [now, before] of [
        [redactSecrets, legacyRedactText],
        [redactUrl, legacyRedactUrl],
      ] as const) {
        const shownNow = now(input);
        const shownBefore = before(input);
        for (let s = 0; s < secrets; s++) {
          if (shownNow.includes(`Zq${s}.`) && !shownBefore.includes(`Zq${s}.`)) {
            leaks.push(JSON.stringify({ input, now: shownNow, before: shownBefore }));
          }
        }
      }
    }
    expect(leaks).toEqual([]);
  });

  it("its whitespace is exactly JavaScript's \\s", () => {
    const differ: number[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      if (isJsWhitespace(c) !== /\s/.test(String.fromCharCode(c))) differ.push(c);
    }
    expect(differ).toEqual([]);
  });
});

describe("clipRedacted", () => {
  it("returns short text unchanged and never cuts inside a '***' marker", () => {
    expect(clipRedacted("short", 10)).toBe("short");
    const text = redactSecrets("alter role x password 'secret' valid until 'infinity'");
    expect(text).toBe("alter role x password '***' valid until 'infinity'");
    for (let max = 22; max <= 27; max++) {
      const clipped = clipRedacted(text, max);
      expect(clipped.endsWith("password '***'") || clipped.endsWith("password "), clipped).toBe(true);
      // Redacting the clipped text again (as every output does) hides nothing printed after it.
      expect(redactSecrets(`${clipped}… and more`)).toBe(`${clipped}… and more`);
    }
  });

  it("does not split a surrogate pair", () => {
    expect(clipRedacted("ab😀cd", 3)).toBe("ab");
  });
});

describe("describeHolder (defect 4)", () => {
  const holder = (query: string): LockHolder => ({
    pid: 42,
    user: "app",
    host: "local socket",
    application: "psql",
    since: "2024-01-01 00:00:00+00",
    state: "active",
    stateSince: null,
    query,
    granted: true,
  });

  it("redacts the whole query before shortening it, whatever the secret's position", () => {
    const secret = "TopSecretLiteral_0123456789_abcdefghij";
    for (let pad = 60; pad <= 130; pad++) {
      const query = `${" ".repeat(3)}alter role victim ${"x".repeat(pad)} password '${secret}'; select 1`;
      const line = describeHolder(holder(query.replace(/x+/, (x) => `/* ${x} */`)));
      expect(line).not.toContain("TopSecret");
      expect(redactSecrets(line)).not.toContain("TopSecret");
      expect(line).toContain("query: ");
    }
  });

  it("shows a short query whole, a long one cut to about 120 characters with …", () => {
    expect(describeHolder(holder("select\n  1"))).toMatch(/, query: select 1$/);
    const long = describeHolder(holder(`select ${"a".repeat(500)}`));
    expect(long).toMatch(/, query: select a+…$/);
    expect(long.split("query: ")[1]!.length).toBeLessThanOrEqual(121);
  });

  it("escapes control characters of the query", () => {
    expect(describeHolder(holder("select '\u001b[2J'"))).toContain("select '\\x1b[2J'");
  });
});

describe("a bad config value is quoted back redacted, then cut", () => {
  it("an 80 KB invalid schema is reported quickly, cut to 200 characters plus its length", () => {
    const value = "x-".repeat(40_000);
    const started = performance.now();
    const checked = checkIdentifier(value);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(checked.ok).toBe(false);
    const problem = checked.ok ? "" : checked.problem;
    expect(problem).toContain("… (80000 characters)");
    expect(problem.length).toBeLessThan(500);
  });

  it("a secret near the cut is hidden before the cut", () => {
    for (let pad = 150; pad <= 200; pad += 5) {
      const value = `${"-".repeat(pad)} postgres://app:S3ntinel_pw_91@db/prod ${"-".repeat(300)}`;
      const checked = checkIdentifier(value);
      expect(checked.ok ? "" : checked.problem).not.toContain("S3ntinel");
      const sql = `${"-".repeat(pad)} password 'S3ntinel_pw_91' ${"-".repeat(300)}`;
      const problem = checkIdentifier(sql);
      expect(problem.ok ? "" : problem.problem).not.toContain("S3ntinel");
    }
  });
});

describe("Output: errors and warnings are one line (defect 10)", () => {
  function stderrOf(
    write: (out: Output) => void,
    format: "text" | "json" = "text",
  ): { err: string; out: string } {
    let err = "";
    let out = "";
    const e = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      err += String(chunk);
      return true;
    });
    const o = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    try {
      write(new Output({ format, quiet: false, color: false, debug: false }));
    } finally {
      e.mockRestore();
      o.mockRestore();
    }
    return { err, out };
  }

  it("escapes line breaks and control characters after redaction, in text mode only", () => {
    const message = "first\nsecond\r\u001b[2J\u0000 tab\there password 's3cret\nmore'";
    const text = stderrOf((out) => out.error(new Error(message), "migrate up"));
    expect(text.err).toBe(
      "error: internal error: first\\nsecond\\r\\x1b[2J\\x00 tab\there password '***' (run with --debug for the stack trace)\n",
    );
    const json = stderrOf((out) => out.error(new Error(message), "migrate up"), "json");
    expect(json.err).toBe("");
    expect((JSON.parse(json.out) as { error: { message: string } }).error.message).toContain(
      "first\nsecond\r\u001b[2J\u0000 tab\there password '***'",
    );
  });

  it("a warning is one line too", () => {
    const { err } = stderrOf((out) => out.warn("line one\nline two postgres://u:pw@h/db"));
    expect(err).toBe("warning: line one\\nline two postgres://u:***@h/db\n");
  });
});

// The regular expressions of earlier versions, kept as the reference that redaction must never
// hide less than. Quadratic: only ever run on short inputs.
function legacyRedactUrl(url: string): string {
  try {
    return legacyUserinfo(url).replace(LEGACY_PASSWORD_PAIR, "$1***");
  } catch {
    return "***";
  }
}
const LEGACY_PASSWORD_PAIR = /(password\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s&;]+)/gi;
const LEGACY_QUERY_PARAMETER_BEFORE_AT =
  /[?&](?:user|application_name|fallback_application_name|options|service|target_session_attrs|sslmode)=[^&]*$/;
function legacyUserinfo(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (scheme === null) return url;
  const start = scheme[0].length;
  let at = url.lastIndexOf("@");
  while (at >= start && LEGACY_QUERY_PARAMETER_BEFORE_AT.test(url.slice(start, at))) {
    at = url.lastIndexOf("@", at - 1);
  }
  if (at < start) return url;
  const userinfo = url.slice(start, at);
  const colon = userinfo.indexOf(":");
  if (colon === -1) return url;
  if (/[/?#]/.test(userinfo.slice(0, colon))) return url;
  return `${url.slice(0, start + colon + 1)}***${url.slice(at)}`;
}
function legacyRedactText(text: string): string {
  try {
    return text
      .replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"`]+/gi, (url) => legacyUserinfo(url))
      .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s'"`]*:)(?!\*\*\*@)([^@\n]*)@/gi, "$1***@")
      .replace(LEGACY_PASSWORD_PAIR, "$1***")
      .replace(/(\bpassword\s+)('(?:[^']|'')*'|\$([a-z_]*)\$[\s\S]*?\$\3\$)/gi, "$1'***'");
  } catch {
    return "***";
  }
}

describe("redactUntrusted", () => {
  it("hides a known password bare, percent-encoded and decoded; leaves our own messages alone", () => {
    hideSecret("S3cret Pw!x@1");
    const out = redactUntrusted("bare S3cret Pw!x@1, encoded S3cret%20Pw!x%401, then done");
    expect(out).toBe("bare ***, encoded ***, then done");
    hideSecret("S3cretPw%21y");
    expect(redactUntrusted("S3cretPw!y and S3cretPw%21y")).toBe("*** and ***");
    // Confiture's own messages go through redactSecrets, which knows no bare passwords.
    expect(redactSecrets("bare S3cret Pw!x@1")).toBe("bare S3cret Pw!x@1");
  });

  it("does not hide passwords shorter than 4 characters (hiding every 'ab' would garble output)", () => {
    hideSecret("ab");
    expect(redactUntrusted("a table")).toBe("a table");
  });
});
