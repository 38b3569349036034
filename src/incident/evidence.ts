/**
 * The evidence an incident report is opened with, gathered now: the server, migration status,
 * the lock holder, recent events, health and drift. Incidents are opened when things are
 * broken, so every piece is gathered on its own and a piece that fails says why instead of
 * failing the report; a dead server costs one short connection attempt, not one per piece.
 */
import { type EventsResult, listEvents } from "../audit/events.js";
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { type LockHolder, lockHolder } from "../db/advisory-lock.js";
import type { ConnectionSpec } from "../db/connection-spec.js";
import { withSession } from "../db/with-session.js";
import { type HealthResult, healthCheck } from "../health/index.js";
import { migrationStatus, type StatusResult } from "../migrations/status.js";
import { runContext } from "../ops/context.js";
import { type DriftResult, detectDrift } from "../schema/index.js";
import { oneLine } from "./text.js";

/** How long the first connection may take before the database counts as unreachable. */
export const PROBE_CONNECT_TIMEOUT_MS = 3_000;
/** The longest the probe waits for one answer (the configured query_timeout, when shorter). */
const PROBE_QUERY_TIMEOUT_MS = 10_000;
/** How many of the newest events the report's timeline starts with. */
export const TIMELINE_EVENTS = 20;

/** A piece of evidence: what was collected, or why not. */
export type Piece<T> =
  | { status: "collected"; value: T }
  | { status: "not available"; reason: string }
  | { status: "not collected"; reason: string };

/** The server as the probe saw it. */
export interface ServerFacts {
  database: string;
  version: string;
}

/** The migration lock and its holder (null when free). */
export interface LockFacts {
  lock: string;
  holder: LockHolder | null;
}

/** Everything `incident new` gathered, each piece on its own. */
export interface IncidentEvidence {
  /** When gathering started. */
  collectedAt: Date;
  database: Piece<ServerFacts>;
  migrations: Piece<StatusResult>;
  lock: Piece<LockFacts>;
  events: Piece<EventsResult>;
  health: Piece<HealthResult>;
  drift: Piece<DriftResult>;
}

export interface GatherOptions {
  /** False skips drift detection (the slow piece: it replays the migrations into a scratch database). */
  drift?: boolean | undefined;
  /** Progress for a person while the slow pieces run. */
  onProgress?: ((message: string) => void) | undefined;
}

/**
 * Gather the evidence. Never throws for what it cannot reach: a piece that fails is
 * `not available` with a one-line reason (redacted).
 *
 * @example const evidence = await gatherEvidence(config, { drift: false });
 */
export async function gatherEvidence(
  config: ConfitureConfig,
  opts: GatherOptions = {},
): Promise<IncidentEvidence> {
  const collectedAt = new Date();
  const run = runContext(config, COMMANDS.incidentNew);
  let spec: ConnectionSpec;
  try {
    spec = {
      ...run.connection,
      connectTimeoutMs: PROBE_CONNECT_TIMEOUT_MS,
      queryTimeoutMs: Math.min(config.queryTimeoutMs, PROBE_QUERY_TIMEOUT_MS),
    };
  } catch (err) {
    return unreachable(collectedAt, reasonOf(err), opts);
  }
  opts.onProgress?.("connecting to the database");
  try {
    return await withSession(spec, async (session) => {
      // The server answers: the other pieces open their own sessions meanwhile.
      const others = Promise.all([
        collect(() => migrationStatus(config)),
        collect(() => listEvents(config, { limit: TIMELINE_EVENTS })),
        collect(() => healthCheck(config)),
        opts.drift === false ? skipped : collect(() => detectDrift(config, { onProgress: opts.onProgress })),
      ]);
      const lock = await collect(async () => ({
        lock: run.lockKey.label,
        holder: (await lockHolder(session, run.lockKey)) ?? null,
      }));
      const [migrations, events, health, drift] = await others;
      return {
        collectedAt,
        database: collected({ database: session.database, version: session.serverVersion }),
        migrations,
        lock,
        events,
        health,
        drift,
      };
    });
  } catch (err) {
    return unreachable(collectedAt, reasonOf(err), opts);
  }
}

/** Drift when `--no-drift` said not to detect it. */
const skipped = { status: "not collected", reason: "skipped (--no-drift)" } as const;

/**
 * Every database piece not available for the same reason (no URL, the server cannot be
 * reached): asking each again would only repeat the wait.
 */
function unreachable(collectedAt: Date, reason: string, opts: GatherOptions): IncidentEvidence {
  const na = { status: "not available", reason } as const;
  const drift = opts.drift === false ? skipped : na;
  return { collectedAt, database: na, migrations: na, lock: na, events: na, health: na, drift };
}

function collected<T>(value: T): Piece<T> {
  return { status: "collected", value };
}

async function collect<T>(work: () => Promise<T>): Promise<Piece<T>> {
  try {
    return collected(await work());
  } catch (err) {
    return { status: "not available", reason: reasonOf(err) };
  }
}

/** The error's message as one redacted line. */
function reasonOf(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err)) || "unknown error";
}
