/** `--since` parsing (confiture events) and the lock holder's display (lock status, LOCK_TIMEOUT). */
import { describe, expect, it } from "vitest";
import { parseSince } from "../../src/audit/events.js";
import { describeHolder, holderFields, type LockHolder } from "../../src/db/advisory-lock.js";

describe("parseSince", () => {
  const now = new Date("2026-11-24T12:00:00Z");

  it("reads a duration as 'in the last ...'", () => {
    expect(parseSince("2h", now).toISOString()).toBe("2026-11-24T10:00:00.000Z");
    expect(parseSince("7d", now).toISOString()).toBe("2026-11-17T12:00:00.000Z");
    expect(parseSince("1h30m", now).toISOString()).toBe("2026-11-24T10:30:00.000Z");
  });

  it("reads ISO 8601 dates and times, UTC unless an offset is given", () => {
    expect(parseSince("2026-11-20").toISOString()).toBe("2026-11-20T00:00:00.000Z");
    expect(parseSince("2026-11-20T08:30").toISOString()).toBe("2026-11-20T08:30:00.000Z");
    expect(parseSince("2026-11-20 08:30:15Z").toISOString()).toBe("2026-11-20T08:30:15.000Z");
    expect(parseSince("2026-11-20T08:30:15+02:00").toISOString()).toBe("2026-11-20T06:30:15.000Z");
    expect(parseSince("2026-11-20T08:30:15-0130").toISOString()).toBe("2026-11-20T10:00:15.000Z");
  });

  it("refuses anything else with a usage error naming the accepted forms", () => {
    for (const bad of ["yesterday", "5", "2026-02-30", "2026-13-01", "2026-11-20T25:00", "", "2h ago"]) {
      expect(() => parseSince(bad, now), bad).toThrow(/--since must be an ISO 8601 date or time/);
    }
  });
});

describe("the lock holder's display", () => {
  const holder: LockHolder = {
    pid: 42,
    user: "app",
    host: "10.0.0.5",
    application: "confiture: migrate up 003_add_index",
    since: "2026-11-24 21:40:03.123456+00",
    sinceIso: "2026-11-24T21:40:03Z",
    sinceSeconds: 192,
    state: "active",
    stateSince: "2026-11-24 21:43:00+00",
    stateSinceIso: "2026-11-24T21:43:00Z",
    stateSeconds: 15,
    query: `create index concurrently users_email_idx on users (email) where ${"deleted_at is null and ".repeat(8)}true`,
    granted: true,
  };

  it("describeHolder stays one line, with the ISO time and the age", () => {
    const line = describeHolder(holder);
    expect(line).not.toContain("\n");
    expect(line).toContain(
      'pid 42, user app, host 10.0.0.5, application "confiture: migrate up 003_add_index", since 2026-11-24T21:40:03Z (3m12s ago), state active, query: create index',
    );
  });

  it("holderFields: labelled values, the query cut after a whole word with …", () => {
    const fields = Object.fromEntries(holderFields(holder));
    expect(Object.keys(fields)).toEqual(["pid", "user", "host", "application", "since", "state", "query"]);
    expect(fields.since).toBe("2026-11-24T21:40:03Z (3m12s ago)");
    expect(fields.state).toBe("active (for 15s)");
    const shown = fields.query!;
    expect(shown.endsWith("…")).toBe(true);
    const kept = shown.slice(0, -1);
    expect(holder.query!.startsWith(kept)).toBe(true);
    expect(holder.query![kept.length]).toBe(" ");
    expect(kept.length).toBeLessThanOrEqual(120);
  });

  it("ages read as a person reads them", () => {
    const age = (s: number) => holderFields({ ...holder, sinceSeconds: s }).find(([k]) => k === "since")![1];
    expect(age(5)).toBe("2026-11-24T21:40:03Z (5s ago)");
    expect(age(3 * 3600 + 125)).toBe("2026-11-24T21:40:03Z (3h2m ago)");
    expect(age(2 * 86_400 + 7200)).toBe("2026-11-24T21:40:03Z (2d2h ago)");
  });

  it("a holder without the ISO fields (older callers) falls back to PostgreSQL's text", () => {
    const { sinceIso: _a, sinceSeconds: _b, ...old } = holder;
    expect(describeHolder(old)).toContain("since 2026-11-24 21:40:03.123456+00, state active");
  });
});
