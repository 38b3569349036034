/** Backup names, the metadata validator and the disk-full classification (pure logic). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { explainFailure, isDiskFull } from "../../src/backup/create.js";
import { metadataProblem, readBackupMetadata, verificationProblem } from "../../src/backup/metadata.js";
import { backupName, parseBackupName, utcStamp } from "../../src/backup/naming.js";
import { ToolError } from "../../src/errors.js";

const valid = {
  kind: "confiture-backup",
  version: 1,
  file: "app_20261125T013000Z.dump",
  database: "app",
  schema: "public",
  dumpFormat: "custom",
  compress: 9,
  serverVersion: "16.4",
  serverVersionNum: 160004,
  pgDumpVersion: "16.4",
  startedAt: "2026-11-25T01:30:00.123Z",
  finishedAt: "2026-11-25T01:30:02.000Z",
  sizeBytes: 1234,
  sha256: "a".repeat(64),
  sha256Of: "file",
  migrations: { trackingTable: "confiture_migrations", appliedCount: 3, head: "003_c" },
  fingerprint: "f".repeat(64),
  rowCounts: { exact: true, tables: { users: 10 } },
  snapshot: "00000003-0000001B-1",
};

describe("backup names", () => {
  it("are <database>_<UTC second>.dump and read back exactly", () => {
    const at = new Date("2026-11-25T01:30:00.789Z");
    expect(utcStamp(at)).toBe("20261125T013000Z");
    expect(backupName("app", at)).toBe("app_20261125T013000Z.dump");
    expect(backupName("my db/x", at)).toBe("my_db_x_20261125T013000Z.dump");
    expect(parseBackupName("app_old_20261125T013000Z.dump")).toEqual({
      database: "app_old",
      startedAt: new Date("2026-11-25T01:30:00Z"),
    });
    for (const name of [
      "app_20261125T013000Z.dump.meta.json",
      "app_20261125T013000.dump",
      ".app_20261125T013000Z.dump",
      "app_20260230T013000Z.dump",
      "app_20261125T246000Z.dump",
      "other.dump",
    ]) {
      expect(parseBackupName(name), name).toBeNull();
    }
  });
});

describe("backup metadata", () => {
  it("accepts version 1 and names the first thing wrong otherwise", () => {
    expect(metadataProblem(valid, valid.file)).toBeNull();
    expect(metadataProblem({ ...valid, file: "x.dump" }, valid.file)).toBe(
      `names "x.dump", not "${valid.file}"`,
    );
    expect(metadataProblem({ ...valid, version: 2 })).toBe("has version 2, not 1");
    expect(metadataProblem({ ...valid, kind: "x" })).toBe('has no kind "confiture-backup"');
    expect(metadataProblem({ ...valid, sha256: "abc" })).toBe("has no valid sha256");
    expect(metadataProblem({ ...valid, startedAt: "yesterday" })).toBe("has no valid startedAt");
    expect(metadataProblem({ ...valid, rowCounts: { exact: true, tables: { t: -1 } } })).toBe(
      "has an invalid row count for t",
    );
    expect(metadataProblem({ ...valid, migrations: { ...valid.migrations, head: 3 } })).toBe(
      "has an invalid migrations.head",
    );
    expect(metadataProblem([])).toBe("is not a JSON object");
    expect(verificationProblem({ verifiedAt: "2026-11-25T00:00:00Z", ok: true, restoreMs: 5 })).toBeNull();
    expect(verificationProblem({ verifiedAt: "2026-11-25T00:00:00Z", ok: "yes", restoreMs: 5 })).toBe(
      "has no ok",
    );
  });

  it("readBackupMetadata throws BACKUP_METADATA_INVALID naming the file and the problem", async () => {
    const dir = mkdtempSync(join(tmpdir(), "confiture-meta-"));
    try {
      const good = join(dir, `${valid.file}.meta.json`);
      writeFileSync(good, JSON.stringify(valid));
      expect((await readBackupMetadata(good)).sha256).toBe(valid.sha256);
      const renamed = join(dir, "app_20261125T020000Z.dump.meta.json");
      writeFileSync(renamed, JSON.stringify(valid));
      await expect(readBackupMetadata(renamed)).rejects.toMatchObject({
        code: "BACKUP_METADATA_INVALID",
        category: "check",
        message: expect.stringContaining(`names "${valid.file}", not "app_20261125T020000Z.dump"`),
      });
      writeFileSync(good, "{");
      await expect(readBackupMetadata(good)).rejects.toThrow(/is not valid JSON/);
      await expect(readBackupMetadata(join(dir, "none.meta.json"))).rejects.toThrow(/does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a full disk", () => {
  it("is ENOSPC or pg_dump's 'No space left on device', reported as BACKUP_DISK_FULL", () => {
    const enospc = Object.assign(new Error("write failed"), { code: "ENOSPC" });
    const pgDump = new ToolError(
      "TOOL_FAILED",
      "pg_dump",
      "pg_dump exited with status 1: pg_dump: error: could not write to output file: No space left on device",
    );
    const other = new ToolError("TOOL_FAILED", "pg_dump", "pg_dump exited with status 1: permission denied");
    expect([isDiskFull(enospc), isDiskFull(pgDump), isDiskFull(other)]).toEqual([true, true, false]);
    const error = explainFailure(pgDump, "/b", "app_20261125T013000Z.dump") as ToolError;
    expect(error.code).toBe("BACKUP_DISK_FULL");
    expect(error.message).toMatch(
      /^the disk holding \/b is full: app_20261125T013000Z\.dump could not be written/,
    );
    expect((explainFailure(other, "/b", "x.dump") as ToolError).message).toMatch(
      /permission denied; the partial dump was removed, no backup was kept$/,
    );
  });
});
