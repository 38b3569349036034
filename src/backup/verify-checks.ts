/**
 * The checks of `backup verify`, each a verdict with its evidence (one fact a line, the first
 * sums it up): the dump's SHA-256, the migration history, the schema fingerprint and the row
 * counts of the restored copy, each against what the metadata recorded when the backup was made.
 * The restore itself is in verify-restore.ts.
 */
import { diffSchemas, introspectSchema, type SchemaModel, schemaFingerprint } from "../catalog/index.js";
import { qualify } from "../db/identifiers.js";
import type { Session } from "../db/session.js";
import { CheckFailedError } from "../errors.js";
import { type HistoryTables, historyStore, ownRelations } from "../history/index.js";
import type { MigrationFile } from "../migrations/files.js";
import { checkChecksums, newestFirst } from "../migrations/history-checks.js";
import { describeDifference } from "../schema/index.js";
import { dumpSha256 } from "./digest.js";
import { type BackupMetadata, diskSize } from "./metadata.js";

/** A check's verdict. SKIP: not run, because an earlier check failed. */
export type BackupCheckVerdict = "PASS" | "FAIL" | "SKIP";

/** The checks, in the order they run. */
export const BACKUP_CHECK_NAMES = ["sha256", "restore", "history", "fingerprint", "row counts"] as const;

export type BackupCheckName = (typeof BACKUP_CHECK_NAMES)[number];

/** One check: its verdict and the facts behind it. */
export interface BackupCheck {
  name: BackupCheckName;
  verdict: BackupCheckVerdict;
  evidence: string[];
}

/** How many differing items a FAIL lists before "... and N more". */
const SHOWN = 8;

const short = (hex: string): string => `${hex.slice(0, 12)}…`;

/** `n` items shown at most, then how many more there are. */
function listed(lines: string[], max = SHOWN): string[] {
  return lines.length <= max ? lines : [...lines.slice(0, max), `... and ${lines.length - max} more`];
}

/**
 * The dump's SHA-256, recomputed (streaming), against the metadata's.
 * @example await sha256Check("backups/app_20261125T013000Z.dump", meta) // { verdict: "PASS", ... }
 */
export async function sha256Check(path: string, meta: BackupMetadata): Promise<BackupCheck> {
  const { sha256, sha256Of } = await dumpSha256(path);
  if (sha256Of !== meta.sha256Of) {
    return {
      name: "sha256",
      verdict: "FAIL",
      evidence: [
        `the dump is ${sha256Of === "file" ? "a file" : "a directory"}, but the metadata describes a ${meta.dumpFormat}-format dump`,
      ],
    };
  }
  if (sha256 !== meta.sha256) {
    const size = await diskSize(path);
    return {
      name: "sha256",
      verdict: "FAIL",
      evidence: [
        `the dump's SHA-256 is ${short(sha256)}, the metadata says ${short(meta.sha256)}: the dump is truncated or corrupted, or was changed after the backup; it was not restored`,
        size === meta.sizeBytes
          ? `same size as recorded (${size} bytes): changed in place`
          : `${size ?? 0} bytes on disk, the metadata says ${meta.sizeBytes}`,
      ],
    };
  }
  return { name: "sha256", verdict: "PASS", evidence: [`${short(sha256)} equals the metadata`] };
}

/**
 * The restored tracking table: present and readable, its applied count and head equal to the
 * metadata's, and the checksum recorded for every applied migration equal to its file's.
 */
export async function historyCheck(
  session: Session,
  tables: HistoryTables,
  meta: BackupMetadata,
  files: MigrationFile[],
): Promise<BackupCheck> {
  const name = "history";
  const table = `${tables.schema}.${tables.trackingTable}`;
  const store = historyStore(session, tables);
  if (!(await store.exists())) {
    return { name, verdict: "FAIL", evidence: [`the tracking table ${table} is not in the restored copy`] };
  }
  let rows: Awaited<ReturnType<typeof store.read>>;
  try {
    rows = await store.read();
  } catch (err) {
    if (err instanceof CheckFailedError) return { name, verdict: "FAIL", evidence: [err.message] };
    throw err;
  }
  const applied = rows.filter((r) => r.status !== "failed");
  const head = newestFirst(applied)[0]?.version ?? null;
  const want = meta.migrations;
  const problems: string[] = [];
  if (applied.length !== want.appliedCount)
    problems.push(`${applied.length} applied migration(s) restored, the metadata says ${want.appliedCount}`);
  if (head !== want.head)
    problems.push(`head ${head ?? "(none)"} restored, the metadata says ${want.head ?? "(none)"}`);
  const checksums = checkChecksums(files, rows).map((p) =>
    p.kind === "mismatch"
      ? `${p.id}: its file changed since it was applied (recorded ${short(p.recorded ?? "")}, file ${short(p.actual ?? "")})`
      : p.kind === "missing-file"
        ? `${p.id}: applied, but its file is not in the migrations directory`
        : `${p.id}: no checksum recorded`,
  );
  const failed = rows.filter((r) => r.status === "failed").map((r) => r.version);
  const summary = `${table} readable: ${applied.length} applied, head ${head ?? "(none)"}`;
  if (problems.length > 0 || checksums.length > 0) {
    return {
      name,
      verdict: "FAIL",
      evidence: [
        problems.length > 0 ? problems.join("; ") : `${summary}, as in the metadata`,
        ...listed(checksums),
      ],
    };
  }
  const note = failed.length > 0 ? [`recorded as failed (as when backed up): ${failed.join(", ")}`] : [];
  return {
    name,
    verdict: "PASS",
    evidence: [`${summary}, as in the metadata; checksums equal the files`, ...note],
  };
}

/**
 * The restored managed schema's fingerprint against the metadata's. On a mismatch, when the live
 * schema still has the backup's fingerprint (nothing changed since), what the restore lost or
 * changed is listed: `live` reads it only then.
 */
export async function fingerprintCheck(
  restored: SchemaModel,
  meta: BackupMetadata,
  live: () => Promise<SchemaModel | null>,
): Promise<BackupCheck> {
  const name = "fingerprint";
  const actual = schemaFingerprint(restored);
  if (actual === meta.fingerprint) {
    return {
      name,
      verdict: "PASS",
      evidence: [`schema ${meta.schema}: ${short(actual)} equals the metadata`],
    };
  }
  const evidence = [
    `schema ${meta.schema} restored with fingerprint ${short(actual)}, the metadata says ${short(meta.fingerprint)}`,
  ];
  const liveModel = await live().catch(() => null);
  if (liveModel !== null && schemaFingerprint(liveModel) === meta.fingerprint) {
    const differences = diffSchemas(liveModel, restored).map(
      (d) => `${describeDifference(d)} (restored copy against the live schema, unchanged since the backup)`,
    );
    evidence.push(...listed(differences, 5));
  } else {
    evidence.push("the live schema changed since the backup, so what differs cannot be shown");
  }
  return { name, verdict: "FAIL", evidence };
}

/**
 * Exact row counts of the restored tables against the metadata's. When the metadata holds
 * estimates (`backup create --fast`), the restored counts are reported, never compared.
 */
export async function rowCountsCheck(
  session: Session,
  restored: SchemaModel,
  meta: BackupMetadata,
): Promise<BackupCheck> {
  const name = "row counts";
  const recorded = meta.rowCounts.tables;
  const present = new Set(restored.tables.map((t) => t.name));
  const names = Object.keys(recorded).sort();
  const counts = await exactCounts(
    session,
    meta.schema,
    names.filter((n) => present.has(n)),
  );
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (!meta.rowCounts.exact) {
    return {
      name,
      verdict: "PASS",
      evidence: [
        `${counts.size} table(s), ${total} row(s) restored; the metadata holds estimates (backup create --fast), so they are reported, not compared`,
      ],
    };
  }
  const problems: string[] = [];
  for (const table of names) {
    const n = counts.get(table);
    if (n === undefined)
      problems.push(`${table}: not in the restored copy (the metadata counts ${recorded[table]} row(s))`);
    else if (n !== recorded[table])
      problems.push(`${table}: ${n} row(s) restored, the metadata says ${recorded[table]}`);
  }
  for (const t of restored.tables) {
    // backup create counts every table but foreign ones (their rows live elsewhere).
    if (t.kind !== "foreign table" && !(t.name in recorded))
      problems.push(`${t.name}: restored, but the metadata has no row count for it`);
  }
  if (problems.length > 0) {
    return {
      name,
      verdict: "FAIL",
      evidence: [
        `${problems.length} of ${names.length} table(s) differ from the metadata`,
        ...listed(problems),
      ],
    };
  }
  return {
    name,
    verdict: "PASS",
    evidence: [`${names.length} table(s), ${total} row(s), each equal to the metadata`],
  };
}

/** `count(*)` of each table, many tables per round trip. */
async function exactCounts(session: Session, schema: string, tables: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < tables.length; i += 100) {
    const chunk = tables.slice(i, i + 100);
    const sql = chunk
      .map((t, j) => `select ${j}::int as i, count(*)::text as n from ${qualify(schema, t)}`)
      .join(" union all ");
    for (const row of await session.query<{ i: number; n: string }>(sql))
      counts.set(chunk[row.i]!, Number(row.n));
  }
  return counts;
}

/** Introspect the managed schema (of the restored copy, or the live one), Confiture's own relations left out. */
export function managedModel(session: Session, tables: HistoryTables): Promise<SchemaModel> {
  return introspectSchema(session, tables.schema, ownRelations(tables));
}

/** The checks after `from` as SKIP, with the reason. */
export function skippedAfter(from: BackupCheckName, reason: string): BackupCheck[] {
  return BACKUP_CHECK_NAMES.slice(BACKUP_CHECK_NAMES.indexOf(from) + 1).map((name) => ({
    name,
    verdict: "SKIP" as const,
    evidence: [reason],
  }));
}
