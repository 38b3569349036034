/** health check's verdicts from facts already read: thresholds, WAL archiving, backups, the report. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findBackups } from "../../src/health/health-backup-files.js";
import { backupItem, connectionItem, serverItem, walItem } from "../../src/health/health-checks.js";
import type { ArchiverFacts } from "../../src/health/health-facts.js";
import { healthReport, worstOf } from "../../src/health/health-item.js";

const NOW = "2026-11-25T02:00:00.000000Z";
const archiver = (a: Partial<ArchiverFacts>): ArchiverFacts => ({
  archiveMode: "on",
  archivedCount: 0,
  lastArchivedWal: null,
  lastArchivedTime: null,
  failedCount: 0,
  lastFailedWal: null,
  lastFailedTime: null,
  statsReset: "2026-11-24T00:00:00.000000Z",
  ...a,
});

describe("wal archiving", () => {
  it("is OK when archive_mode is off, whatever the counters say", () => {
    const w = walItem(archiver({ archiveMode: "off", failedCount: 3 }), NOW);
    expect([w.level, w.summary]).toEqual(["OK", "off (archive_mode = off)"]);
  });

  it("is CRIT when it fails now: no success ever, or the last failure is newer than the last success", () => {
    const never = walItem(
      archiver({
        failedCount: 2,
        lastFailedWal: "000000010000000000000003",
        lastFailedTime: "2026-11-25T01:59:00.000000Z",
      }),
      NOW,
    );
    expect(never.level).toBe("CRIT");
    expect(never.summary).toBe(
      "failing: the last attempt failed (000000010000000000000003 at 2026-11-25T01:59:00Z (1m0s ago)) and no WAL was archived yet; 2 failure(s) since 2026-11-24T00:00:00Z; check archive_command and the server log",
    );
    const after = walItem(
      archiver({
        archivedCount: 5,
        lastArchivedWal: "000000010000000000000002",
        lastArchivedTime: "2026-11-25T01:00:00.000000Z",
        failedCount: 1,
        lastFailedWal: "000000010000000000000003",
        lastFailedTime: "2026-11-25T01:00:00.000001Z",
      }),
      NOW,
    );
    expect(after.level).toBe("CRIT");
    expect(after.summary).toContain(
      "last success 000000010000000000000002 at 2026-11-25T01:00:00Z (1h0m ago)",
    );
  });

  it("is a warning when there were failures but it has archived since, OK without failures", () => {
    const recovered = walItem(
      archiver({
        archivedCount: 6,
        lastArchivedWal: "000000010000000000000004",
        lastArchivedTime: "2026-11-25T01:30:00.000000Z",
        failedCount: 4,
        lastFailedWal: "000000010000000000000003",
        lastFailedTime: "2026-11-25T01:29:59.999999Z",
      }),
      NOW,
    );
    expect(recovered.level).toBe("WARN");
    expect(recovered.summary).toMatch(
      /^4 failure\(s\) since .*; archived since: 000000010000000000000004 at /,
    );
    const fine = walItem(
      archiver({
        lastArchivedWal: "000000010000000000000004",
        lastArchivedTime: "2026-11-25T01:58:00.000000Z",
      }),
      NOW,
    );
    expect([fine.level, fine.summary]).toEqual([
      "OK",
      "on, last archived 000000010000000000000004 at 2026-11-25T01:58:00Z (2m0s ago)",
    ]);
    expect(walItem(archiver({}), NOW).level).toBe("OK");
  });
});

describe("connection and server", () => {
  it("grades the time to a first answer: OK up to 100 ms, WARN above, CRIT above 1000 ms", () => {
    expect(connectionItem(90, 10).level).toBe("OK");
    expect(connectionItem(90, 11).level).toBe("WARN");
    expect(connectionItem(990, 10).level).toBe("WARN");
    expect(connectionItem(991, 10).level).toBe("CRIT");
    expect(connectionItem(12, 1.5).summary).toBe("answered in 14 ms: connect 12 ms, round trip 1.5 ms");
  });

  it("warns about a server older than 12", () => {
    expect(serverItem("11.22 (Debian)", 110022)).toMatchObject({
      level: "WARN",
      summary: expect.stringMatching(/^PostgreSQL 11\.22: older than 12/),
    });
    expect(serverItem("12.0", 120000)).toMatchObject({ level: "OK", summary: "PostgreSQL 12.0" });
  });
});

/** Valid version-1 metadata for a dump of `sizeBytes` bytes started at `startedAt`. */
function metadataFor(
  file: string,
  startedAt: string,
  sizeBytes: number,
  database = "app",
  dumpFormat = "custom",
): string {
  return JSON.stringify({
    kind: "confiture-backup",
    version: 1,
    file,
    database,
    schema: "public",
    dumpFormat,
    compress: 9,
    serverVersion: "16.4",
    serverVersionNum: 160004,
    pgDumpVersion: "16.4",
    startedAt,
    finishedAt: startedAt,
    sizeBytes,
    sha256: "0".repeat(64),
    sha256Of: "file",
    migrations: { trackingTable: "confiture_migrations", appliedCount: 0, head: null },
    fingerprint: "f",
    rowCounts: { exact: true, tables: {} },
    snapshot: null,
  });
}

describe("backups", () => {
  it("grade the newest against objectives.rpo", () => {
    const now = new Date("2026-11-25T02:00:00Z");
    const listing = (iso: string | null) => ({
      dir: "/b",
      database: "app",
      dirExists: true,
      count: iso ? 1 : 0,
      newest: iso ? { name: "app_x.dump", path: "/b/app_x.dump", takenAt: new Date(iso) } : null,
      unusable: [],
    });
    expect(backupItem(listing("2026-11-25T01:00:00Z"), undefined, now).summary).toBe(
      "not checked: objectives.rpo is not set; newest app_x.dump (1h0m old)",
    );
    expect(backupItem(listing("2026-11-25T01:56:00Z"), 300_000, now).level).toBe("OK");
    const take = 'run "confiture backup create" (it writes /b/app_<YYYYMMDDTHHMMSSZ>.dump and its metadata)';
    const stale = backupItem(listing("2026-11-25T01:54:59Z"), 300_000, now);
    expect(stale).toMatchObject({
      level: "CRIT",
      summary: `newest app_x.dump (5m1s old) is older than objectives.rpo (5m): ${take}`,
    });
    expect(backupItem(listing(null), 300_000, now)).toMatchObject({
      level: "WARN",
      summary: `no backup in /b: ${take}`,
    });
  });

  it("only complete backups with metadata count, aged by their metadata; the rest is named, never counted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "confiture-backups-"));
    const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
    try {
      const now = new Date("2026-11-25T02:00:00Z");
      // Complete: a custom dump and a directory dump, each with its metadata.
      write("app_20261125T013000Z.dump", "PGDMP");
      write(
        "app_20261125T013000Z.dump.meta.json",
        metadataFor("app_20261125T013000Z.dump", "2026-11-25T01:30:00Z", 5),
      );
      mkdirSync(join(dir, "app_20261125T010000Z.dump"));
      write("app_20261125T010000Z.dump/toc.dat", "PGDMP!");
      write(
        "app_20261125T010000Z.dump.meta.json",
        metadataFor("app_20261125T010000Z.dump", "2026-11-25T01:00:00Z", 6, "app", "directory"),
      );
      // Not counted: no metadata; metadata without its dump; dated in the future; truncated.
      write("app_20261125T015000Z.dump", "PGDMP");
      write(
        "app_20261125T015500Z.dump.meta.json",
        metadataFor("app_20261125T015500Z.dump", "2026-11-25T01:55:00Z", 5),
      );
      write("app_20261126T000000Z.dump", "PGDMP");
      write(
        "app_20261126T000000Z.dump.meta.json",
        metadataFor("app_20261126T000000Z.dump", "2026-11-26T00:00:00Z", 5),
      );
      write("app_20261125T014000Z.dump", "PG");
      write(
        "app_20261125T014000Z.dump.meta.json",
        metadataFor("app_20261125T014000Z.dump", "2026-11-25T01:40:00Z", 5),
      );
      // Another database's backup, and names that are no backup of `app`: ignored.
      write("app_old_20261125T015900Z.dump", "PGDMP");
      write("other_20261125T015900Z.dump", "PGDMP");
      write(
        "other_20261125T015900Z.dump.meta.json",
        metadataFor("other_20261125T015900Z.dump", "2026-11-25T01:59:00Z", 5, "other"),
      );
      write("app_20260230T013000Z.dump", "PGDMP");
      write("notes.txt", "hello");

      const listing = await findBackups(dir, "app", now);
      expect(listing.count).toBe(2);
      expect(listing.newest?.name).toBe("app_20261125T013000Z.dump");
      expect(listing.newest?.takenAt.toISOString()).toBe("2026-11-25T01:30:00.000Z");
      expect(listing.unusable.map((u) => [u.name, u.why])).toEqual([
        ["app_20261126T000000Z.dump", "dated in the future"],
        ["app_20261125T015500Z.dump", "incomplete: metadata without its dump (interrupted or deleted)"],
        [
          "app_20261125T015000Z.dump",
          'no metadata file (not made by "confiture backup create", or its metadata was lost)',
        ],
        ["app_20261125T014000Z.dump", "the dump has 2 bytes, the metadata says 5 (changed or truncated)"],
      ]);
      const fresh = backupItem(listing, 3_600_000, now);
      expect(fresh.level).toBe("WARN");
      expect(fresh.summary).toMatch(
        /^newest app_20261125T013000Z\.dump \(30m0s old\), within objectives\.rpo \(1h\); not counted as a backup: app_20261126T000000Z\.dump \(dated in the future\), /,
      );
      expect(fresh.summary).toMatch(/, and 1 more$/);
      // Only a future-dated one: no backup at all, as far as the RPO is concerned.
      const onlyFuture = { ...listing, count: 0, newest: null, unusable: listing.unusable.slice(0, 1) };
      expect(backupItem(onlyFuture, 3_600_000, now)).toMatchObject({
        level: "WARN",
        summary: expect.stringMatching(
          /^no backup in .* \(not counted as a backup: app_20261126T000000Z\.dump \(dated in the future\)\): run "confiture backup create"/,
        ),
      });
      expect((await findBackups(join(dir, "notes.txt"), "app", now)).dirExists).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the report", () => {
  it("has one UNHEALTHY finding per CRIT (critical) and WARN (warning); it fails exactly on a CRIT", () => {
    const items = [
      { name: "a", level: "OK" as const, summary: "fine" },
      { name: "b", level: "WARN" as const, summary: "meh" },
    ];
    expect(worstOf(items)).toBe("WARN");
    const warned = healthReport(items);
    expect(warned.ok).toBe(true);
    expect(warned.findings).toEqual([
      { code: "UNHEALTHY", severity: "warning", subject: "b", message: "b: meh" },
    ]);
    const failed = healthReport([...items, { name: "c", level: "CRIT", summary: "down" }]);
    expect(failed.ok).toBe(false);
    expect(failed.failure).toEqual({ code: "UNHEALTHY", message: "unhealthy: c: down" });
    expect(failed.findings.map((f) => f.severity)).toEqual(["warning", "critical"]);
  });
});
