/**
 * What both restores share: finding the dump (a path, or a name in the backup directory), its
 * metadata when it has any, and running pg_restore through src/tools against a database on the
 * configured server (connection through libpq's environment, never argv).
 */
import { stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import type { ConfitureConfig } from "../config/index.js";
import type { ConnectionSpec } from "../db/connection-spec.js";
import { lookupPassFile } from "../db/pass-file.js";
import { UsageError } from "../errors.js";
import { hideSecret } from "../redact/index.js";
import { runTool, type ToolConnection } from "../tools/index.js";
import { type BackupMetadata, metadataPathOf, readBackupMetadata } from "./metadata.js";

/** A dump to restore from. */
export interface DumpFile {
  /** Absolute path of the dump (a file, or a directory-format dump's directory). */
  path: string;
  /** Its metadata when a `.meta.json` lies beside it (a plain pg_dump file has none). */
  metadata: BackupMetadata | null;
}

/**
 * The dump `file` names: as given (relative to the working directory), else in `backup.dir`.
 * Throws RESTORE_FILE_NOT_FOUND naming both places; BACKUP_METADATA_INVALID for unusable metadata.
 */
export async function findDump(config: ConfitureConfig, file: string): Promise<DumpFile> {
  if (file.trim() === "")
    throw new UsageError("give the dump to restore, e.g. confiture restore backups/app.dump");
  const candidates = [resolve(file)];
  if (!isAbsolute(file)) candidates.push(join(config.backup.dir, file));
  for (const path of candidates) {
    const found = await stat(path).catch(() => undefined);
    if (found === undefined) continue;
    const hasMeta = await stat(metadataPathOf(path)).then(
      () => true,
      () => false,
    );
    return { path, metadata: hasMeta ? await readBackupMetadata(metadataPathOf(path)) : null };
  }
  throw new UsageError(
    `backup ${file} not found (looked at ${[...new Set(candidates)].join(" and ")}); ` +
      'run "confiture backup list" to see the backups',
    "RESTORE_FILE_NOT_FOUND",
  );
}

/** A ConnectionSpec as src/tools takes it (URL or parts; the password goes into the environment). */
/**
 * `toolConnection`, and for a database reached through `onDatabase` (a scratch database, a restore
 * target) the password that libpq's password file gives the configured database: libpq would look
 * the file up by the new database's name, which no line names (a scratch database's is random).
 */
export async function toolConnectionFor(spec: ConnectionSpec): Promise<ToolConnection> {
  const base = toolConnection(spec);
  if (spec.passFileDatabase === undefined || process.env.PGPASSWORD || typeof base !== "string") return base;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return base;
  }
  if (url.password !== "" || url.searchParams.has("password")) return base;
  const found = await lookupPassFile({
    host: decodeURIComponent(url.hostname) || url.searchParams.get("host") || "localhost",
    port: url.port || "5432",
    database: spec.passFileDatabase,
    user: decodeURIComponent(url.username) || process.env.PGUSER || undefined,
  });
  if (found.password === undefined) return base;
  hideSecret(found.password);
  url.password = encodeURIComponent(found.password);
  return url.toString();
}

export function toolConnection(spec: ConnectionSpec): ToolConnection {
  if (spec.connectionString !== undefined) return spec.connectionString;
  return {
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password,
    database: spec.database,
    params: { application_name: spec.applicationName },
  };
}

/**
 * `pg_restore <args> --dbname=<database> <dump>`, at least as new as the server (an older one
 * is TOOL_TOO_OLD naming both versions). The database name is not a secret; everything else
 * about the connection travels in libpq's environment.
 */
export async function pgRestore(
  target: ConnectionSpec,
  database: string,
  server: { serverVersion: string; serverVersionNum: number },
  args: string[],
  dump: string,
  opts: { signal?: AbortSignal | undefined; onStderrLine?: (line: string) => void } = {},
): Promise<void> {
  await runTool("pg_restore", [...args, "--no-password", `--dbname=${database}`, dump], {
    connection: await toolConnectionFor(target),
    minMajor: Math.floor(server.serverVersionNum / 10000),
    serverVersion: server.serverVersion,
    stdout: "capture",
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onStderrLine ? { onStderrLine: opts.onStderrLine } : {}),
  });
}

/** A database name that may be handed to pg_restore's --dbname (not a conninfo string). */
export function checkDatabaseName(name: string, option: string): void {
  if (name === "" || name.includes("=") || /^postgres(ql)?:/i.test(name) || Buffer.byteLength(name) > 63) {
    throw new UsageError(
      `${option} must be a database name (at most 63 bytes, no "=" or URL), got "${name}"`,
    );
  }
}
