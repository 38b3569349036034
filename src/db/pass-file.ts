/**
 * libpq's password file (`PGPASSFILE` or `~/.pgpass`), read the way libpq reads it, so a
 * password kept there works without Node's deprecated fallback (and its warning on stderr).
 */
import { readFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** What libpq's password file says for one connection, and what messages need to know about it. */
export interface PassFileLookup {
  /** The file consulted: PGPASSFILE, else ~/.pgpass (%APPDATA%\postgresql\pgpass.conf on Windows). */
  file: string;
  /** How hints name it: `~/.pgpass`, or the path when PGPASSFILE (or Windows) decides. */
  label: string;
  /** The password of the first matching line. */
  password?: string | undefined;
  /** 1-based line the password is on. */
  line?: number | undefined;
  /** Why the file gave no password: absent, no matching line, or ignored (and what to do). */
  none?: "absent" | "no matching line" | `ignored: ${string}` | undefined;
}

/** Who is connecting where, as the password file matches it (`*` matches anything). */
export interface PassFileKey {
  host?: string | undefined;
  port?: number | string | undefined;
  database?: string | undefined;
  user?: string | undefined;
}

/**
 * Look the connection up in libpq's password file the way libpq does: `PGPASSFILE` or
 * `~/.pgpass`, lines `host:port:database:user:password` (`*` matches anything, `\:` and `\\`
 * escape), the first match wins, and outside Windows a file others can read is ignored. `pg` has
 * this built in, but it prints a DeprecationWarning whenever it is used; this is the same lookup
 * without the warning.
 * @example (await lookupPassFile({ host: "db", port: 5432, database: "app", user: "app" })).password
 */
export async function lookupPassFile(
  key: PassFileKey,
  env: Record<string, string | undefined> = process.env,
): Promise<PassFileLookup> {
  const windows = process.platform === "win32";
  const explicit = env.PGPASSFILE !== undefined && env.PGPASSFILE !== "";
  const file = explicit
    ? path.resolve(env.PGPASSFILE as string)
    : windows
      ? path.join(env.APPDATA ?? os.homedir(), "postgresql", "pgpass.conf")
      : path.join(os.homedir(), ".pgpass");
  const label = explicit || windows ? file : "~/.pgpass";
  let text: string;
  try {
    const st = await stat(file);
    if (!st.isFile()) return { file, label, none: "ignored: it is not a plain file" };
    if (!windows && (st.mode & 0o077) !== 0) {
      return { file, label, none: "ignored: others can read it (run chmod 600 on it)" };
    }
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { file, label, none: "absent" };
    return { file, label, none: `ignored: it cannot be read (${code ?? "error"})` };
  }
  const host = key.host === undefined || key.host === "" ? "localhost" : key.host;
  const wanted = [host, String(key.port ?? 5432), key.database ?? "", key.user ?? ""];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]?.replace(/\r$/, "") ?? "";
    if (raw === "" || raw.startsWith("#")) continue;
    const fields = passFileFields(raw);
    if (fields === undefined) continue;
    const matches = wanted.every(
      (value, n) =>
        fields[n] === "*" ||
        fields[n] === value ||
        // libpq: "localhost" also matches a connection through the default Unix socket.
        (n === 0 && fields[n] === "localhost" && value.startsWith("/")),
    );
    if (matches) return { file, label, password: fields[4], line: i + 1 };
  }
  return { file, label, none: "no matching line" };
}

/** The five fields of a password-file line, backslash escapes removed; undefined when fewer. */
function passFileFields(line: string): string[] | undefined {
  const fields: string[] = [];
  let current = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\" && i + 1 < line.length) {
      i++;
      current += line[i];
    } else if (c === ":" && fields.length < 4) {
      fields.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  fields.push(current);
  return fields.length === 5 ? fields : undefined;
}
