/**
 * Incident reports, the pure parts: numbering per UTC day, the timeline row and where it is
 * inserted, and how typed text is made safe (one line, pipes escaped, secrets hidden).
 */
import { describe, expect, it } from "vitest";
import { asIncidentId, incidentId, newestFirst, nextNumber, utcDay } from "../../src/incident/ids.js";
import { parseSeverity } from "../../src/incident/new-incident.js";
import { cell, oneLine } from "../../src/incident/text.js";
import {
  appendTimelineRow,
  headerValue,
  isOngoing,
  timelineRow,
  timelineTime,
} from "../../src/incident/timeline.js";

describe("incident numbering", () => {
  it("uses the UTC day and one more than the day's highest number, 001 first", () => {
    expect(utcDay(new Date("2026-11-25T23:59:59Z"))).toBe("20261125");
    expect(utcDay(new Date("2026-11-26T00:30:00+02:00"))).toBe("20261125");
    expect(nextNumber([], "20261125")).toBe(1);
    const names = [
      "INC-20261125-001.md",
      "INC-20261125-004.md",
      "INC-20261124-009.md",
      "notes.md",
      "INC-20261125-x.md",
    ];
    expect(nextNumber(names, "20261125")).toBe(5);
    expect(nextNumber(names, "20261124")).toBe(10);
    expect(nextNumber(names, "20261126")).toBe(1);
    expect(incidentId("20261125", 5)).toBe("INC-20261125-005");
    expect(incidentId("20261125", 1000)).toBe("INC-20261125-1000");
    expect(nextNumber(["INC-20261125-999.md", "INC-20261125-1000.md"], "20261125")).toBe(1001);
  });

  it("orders reports newest first by day then number, and reads ids given to --incident", () => {
    const order = newestFirst([
      "INC-20261124-002.md",
      "INC-20261125-999.md",
      "INC-20261125-1000.md",
      "INC-20261125-001.md",
      "README.md",
    ]).map((n) => n.id);
    expect(order).toEqual(["INC-20261125-1000", "INC-20261125-999", "INC-20261125-001", "INC-20261124-002"]);
    expect(asIncidentId("inc-20261125-002.md")).toBe("INC-20261125-002");
    expect(asIncidentId("reports/INC-20261125-002.md")).toBeUndefined();
  });

  it("accepts P1..P4 in any case and refuses the rest naming the allowed values", () => {
    expect(parseSeverity("p2")).toBe("P2");
    expect(parseSeverity(" P4 ")).toBe("P4");
    for (const bad of ["P5", "P0", "high", "", "1", "P1P2"]) {
      expect(() => parseSeverity(bad)).toThrow("--severity must be one of P1, P2, P3, P4");
    }
  });
});

describe("incident text", () => {
  it("flattens lines, escapes control characters and pipes, hides passwords", () => {
    expect(oneLine("deploy\r\nfailed\tat\u2028step 3")).toBe("deploy failed at step 3");
    expect(oneLine("bell\u0007 here")).toBe("bell\\x07 here");
    expect(oneLine("see postgres://app:hunter2@db/prod now")).toBe("see postgres://app:***@db/prod now");
    // A line break that cut the URL does not let the password through once the lines are joined.
    expect(oneLine("postgres://app:hun\nter2@db/prod")).not.toContain("hun");
    expect(cell("a | b\nc")).toBe("a \\| b c");
    expect(cell("")).toBe("-");
    expect(timelineRow("10:02", "x|y")).toBe("| 10:02 | x\\|y |");
  });

  it("writes the time as HH:MM on the incident's day, with the date on another day", () => {
    expect(timelineTime(new Date("2026-11-25T10:02:59Z"), "2026-11-25")).toBe("10:02");
    expect(timelineTime(new Date("2026-11-24T21:40:03Z"), "2026-11-25")).toBe("2026-11-24 21:40");
  });
});

const REPORT = `# Incident Report: t

**Incident ID:** INC-20261125-001
**Date:** 2026-11-25
**Status:** Ongoing

## Timeline (UTC)

| Time | Event |
|------|-------|
| 09:00 | first |
| 10:02 | Incident opened (confiture incident new) |

## Root Cause

| not | the timeline |

---
**Prepared by:** [Name]

## Evidence (collected by confiture at 2026-11-25T10:02:03Z)

| Time (UTC) | Command |
|---|---|
`;

describe("incident timeline", () => {
  it("adds the row at the end of the Timeline table, not at the end of the file", () => {
    const next = appendTimelineRow(REPORT, "| 10:15 | rolled back |")!;
    const lines = next.split("\n");
    const at = lines.indexOf("| 10:15 | rolled back |");
    expect(lines[at - 1]).toBe("| 10:02 | Incident opened (confiture incident new) |");
    expect(lines[at + 1]).toBe("");
    expect(lines[at + 2]).toBe("## Root Cause");
    expect(next.split("| 10:15 | rolled back |")).toHaveLength(2);
    // Nothing else moved.
    expect(next.replace("| 10:15 | rolled back |\n", "")).toBe(REPORT);
  });

  it("keeps CRLF files CRLF, starts a table when the heading lost it, and says when there is no heading", () => {
    const crlf = appendTimelineRow(REPORT.replace(/\n/g, "\r\n"), "| 10:15 | x |")!;
    expect(crlf).toContain(
      "| 10:02 | Incident opened (confiture incident new) |\r\n| 10:15 | x |\r\n\r\n## Root Cause",
    );
    const noTable = appendTimelineRow(
      "**Status:** Ongoing\n\n## Timeline (UTC)\n\n## Root Cause\n",
      "| 10:15 | x |",
    )!;
    expect(noTable).toBe(
      "**Status:** Ongoing\n\n## Timeline (UTC)\n\n| Time | Event |\n| --- | --- |\n| 10:15 | x |\n\n## Root Cause\n",
    );
    expect(appendTimelineRow("# no timeline here\n", "| 10:15 | x |")).toBeUndefined();
  });

  it("reads the header lines: Status Ongoing is open, anything else is not", () => {
    expect(headerValue(REPORT, "Incident ID")).toBe("INC-20261125-001");
    expect(isOngoing(REPORT)).toBe(true);
    expect(isOngoing(REPORT.replace("**Status:** Ongoing", "**Status:** Resolved"))).toBe(false);
    expect(isOngoing("# no status\n")).toBe(false);
  });
});
