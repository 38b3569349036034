/** health check's verdicts from facts already read: thresholds, WAL archiving, backup names, the report. */
import { describe, expect, it } from "vitest";
import { backupTime } from "../../src/health/health-backup-files.js";
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

describe("backups", () => {
  it("recognise exactly <database>_<YYYYMMDDTHHMMSSZ>.dump for the database, with a real UTC time", () => {
    expect(backupTime("app_20261125T013000Z.dump", "app")?.toISOString()).toBe("2026-11-25T01:30:00.000Z");
    for (const name of [
      "app_20261125T013000Z.dump.json",
      "app_20261125T013000.dump",
      "app_old_20261125T013000Z.dump",
      "apps_20261125T013000Z.dump",
      "app_20260230T013000Z.dump",
      "app_20261125T246000Z.dump",
    ]) {
      expect(backupTime(name, "app"), name).toBeUndefined();
    }
    expect(backupTime("app_old_20261125T013000Z.dump", "app_old")).toBeDefined();
  });

  it("grade the newest against objectives.rpo", () => {
    const now = new Date("2026-11-25T02:00:00Z");
    const listing = (iso: string | null) => ({
      dir: "/b",
      dirExists: true,
      count: iso ? 1 : 0,
      newest: iso ? { name: "app_x.dump", path: "/b/app_x.dump", takenAt: new Date(iso) } : null,
    });
    expect(backupItem(listing("2026-11-25T01:00:00Z"), undefined, now).summary).toBe(
      "not checked: objectives.rpo is not set; newest app_x.dump (1h0m old)",
    );
    expect(backupItem(listing("2026-11-25T01:56:00Z"), 300_000, now).level).toBe("OK");
    expect(backupItem(listing("2026-11-25T01:54:59Z"), 300_000, now)).toMatchObject({
      level: "CRIT",
      summary: expect.stringContaining("is older than objectives.rpo (5m)"),
    });
    expect(backupItem(listing(null), 300_000, now)).toMatchObject({
      level: "WARN",
      summary: "no backup in /b",
    });
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
