/**
 * libpq's password file as Confiture reads it (pg's own reader prints a DeprecationWarning):
 * PGPASSFILE or ~/.pgpass, `*` wildcards, `\:` and `\\` escapes, the first match wins, a file
 * others can read or that is not a plain file is ignored with the reason.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lookupPassFile } from "../../src/db/pass-file.js";

let dir: string;
const key = { host: "db.internal", port: 5432, database: "app", user: "deploy" };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "confiture-passfile-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function passFile(name: string, content: string, mode = 0o600): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, content);
  await chmod(file, mode);
  return file;
}

describe("lookupPassFile", () => {
  it("takes the first matching line; comments, blank and short lines are skipped", async () => {
    const file = await passFile(
      "first",
      "# comment\n\nshort:line\nother:5432:app:deploy:no\r\ndb.internal:5432:app:deploy:first\n*:*:*:*:second\n",
    );
    const r = await lookupPassFile(key, { PGPASSFILE: file });
    expect(r).toMatchObject({ file, label: file, password: "first", line: 5 });
  });

  it("matches * in any of the first four fields and keeps colons after the fourth", async () => {
    const file = await passFile("wild", "*:5432:*:deploy:pa:ss:word\n");
    expect((await lookupPassFile(key, { PGPASSFILE: file })).password).toBe("pa:ss:word");
  });

  it("un-escapes \\: and \\\\ in every field", async () => {
    const file = await passFile("escapes", "db.internal:5432:app:deploy:a\\:b\\\\c\n");
    expect((await lookupPassFile(key, { PGPASSFILE: file })).password).toBe("a:b\\c");
    const escapedHost = await passFile("escaped-host", "h\\:x:5432:app:deploy:pw\n");
    expect((await lookupPassFile({ ...key, host: "h:x" }, { PGPASSFILE: escapedHost })).password).toBe("pw");
  });

  it("defaults to localhost and port 5432; localhost also matches a Unix socket", async () => {
    const file = await passFile("local", "localhost:5432:app:deploy:pw\n");
    expect((await lookupPassFile({ database: "app", user: "deploy" }, { PGPASSFILE: file })).password).toBe(
      "pw",
    );
    const socket = { ...key, host: "/var/run/postgresql" };
    expect((await lookupPassFile(socket, { PGPASSFILE: file })).password).toBe("pw");
  });

  it("says why it gave nothing: absent, no matching line, readable by others, not a plain file", async () => {
    expect((await lookupPassFile(key, { PGPASSFILE: join(dir, "missing") })).none).toBe("absent");
    const other = await passFile("other", "elsewhere:5432:app:deploy:pw\n");
    const unmatched = await lookupPassFile(key, { PGPASSFILE: other });
    expect(unmatched.none).toBe("no matching line");
    expect(unmatched.password).toBeUndefined();
    if (process.platform !== "win32") {
      const open = await passFile("open", "*:*:*:*:pw\n", 0o644);
      const r = await lookupPassFile(key, { PGPASSFILE: open });
      expect(r.password).toBeUndefined();
      expect(r.none).toMatch(/^ignored: others can read it.*chmod 600/);
    }
    await mkdir(join(dir, "a-directory"));
    expect((await lookupPassFile(key, { PGPASSFILE: join(dir, "a-directory") })).none).toBe(
      "ignored: it is not a plain file",
    );
  });

  it("without PGPASSFILE reads ~/.pgpass and calls it that", async () => {
    const r = await lookupPassFile(key, {});
    expect(r.label).toBe(process.platform === "win32" ? r.file : "~/.pgpass");
  });
});
