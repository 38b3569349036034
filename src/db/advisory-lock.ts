/**
 * The migration lock: one session-level advisory lock per database + tracking table.
 *
 * Session-level (not transaction-level) because a run spans many transactions and, for
 * no-transaction migrations, statements outside any transaction. The server releases it
 * when the session ends, so a killed process never leaves it behind once its backend exits.
 *
 * Why `pg_advisory_unlock_all()` from another session (the runbook's "force unlock") does
 * nothing: advisory locks belong to the session that took them, and unlock functions only
 * release the *calling* session's locks. The only way to free a lock held by a stuck session
 * is to end that session — `pg_terminate_backend(pid)` — which is what `confiture unlock` does.
 */
import { LockTimeoutError } from "../errors.js";
import { clipRedacted, redactText } from "../redact/index.js";
import { isLockNotAvailable } from "./pg-errors.js";
import { withoutPrelude } from "./prelude.js";
import type { Session } from "./session.js";

/** Both halves of the two-int4 advisory key, and a human label. */
export interface LockKey {
  classid: number;
  objid: number;
  label: string;
}

/** A session holding (or waiting for) the migration lock, from pg_locks + pg_stat_activity. */
export interface LockHolder {
  pid: number;
  user: string | null;
  host: string | null;
  application: string | null;
  /** When the holder's session started (the lock is taken right after connecting), as PostgreSQL prints it. */
  since: string | null;
  /** `since` as ISO 8601 UTC, to the second: `2026-11-24T21:40:03Z`. */
  sinceIso?: string | null;
  /** Seconds from `since` to the server's now (the server's clock, so client skew does not matter). */
  sinceSeconds?: number | null;
  state: string | null;
  stateSince: string | null;
  /** `stateSince` as ISO 8601 UTC, to the second. */
  stateSinceIso?: string | null;
  /** Seconds the session has been in `state`. */
  stateSeconds?: number | null;
  query: string | null;
  granted: boolean;
}

/** "Conf" in ASCII: the first half of every Confiture key, so other apps' locks never collide. */
const CONFITURE_CLASSID = 0x436f6e66;

/** FNV-1a, masked to a positive int4 so it reads the same in pg_locks.objid (an oid). */
function fnv1a31(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

/** The lock key for a tracking table. The database is implicit: advisory locks are per database. */
export function migrationLockKey(schema: string, trackingTable: string): LockKey {
  const label = `${schema}.${trackingTable}`;
  return { classid: CONFITURE_CLASSID, objid: fnv1a31(label), label };
}

/** to_char pattern of ISO 8601 UTC to the second (applied to a `timestamptz at time zone 'UTC'`). */
const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS"Z"'`;

const HOLDERS_SQL = `
select a.pid, a.usename as user,
       coalesce(a.client_hostname, host(a.client_addr), 'local socket') as host,
       a.application_name as application, a.backend_start::text as since,
       to_char(a.backend_start at time zone 'UTC', ${ISO_UTC}) as "sinceIso",
       floor(extract(epoch from now() - a.backend_start))::int as "sinceSeconds",
       a.state, a.state_change::text as state_since,
       to_char(a.state_change at time zone 'UTC', ${ISO_UTC}) as "stateSinceIso",
       floor(extract(epoch from now() - a.state_change))::int as "stateSeconds",
       a.query, l.granted
  from pg_locks l
  join pg_stat_activity a on a.pid = l.pid
 where l.locktype = 'advisory'
   and l.database = (select oid from pg_database where datname = current_database())
   and l.classid = $1::bigint::oid and l.objid = $2::bigint::oid and l.objsubid = 2
   and l.pid <> pg_backend_pid()
 order by l.granted desc, a.backend_start`;

/** Every other session holding or waiting for the lock, holder first. */
export async function lockSessions(session: Session, key: LockKey): Promise<LockHolder[]> {
  // `state_since` is what JSON documents have always carried; `stateSince` is the declared field.
  const rows = await session.query<LockHolder & { state_since: string | null }>(HOLDERS_SQL, [
    key.classid,
    key.objid,
  ]);
  return rows.map((r) => ({
    ...r,
    pid: Number(r.pid),
    stateSince: r.state_since,
    query: withoutPrelude(r.query),
  }));
}

/** The session holding the lock now, or undefined. */
export async function lockHolder(session: Session, key: LockKey): Promise<LockHolder | undefined> {
  return (await lockSessions(session, key)).find((h) => h.granted);
}

/** How much of the holder's query `describeHolder` and `holderFields` show. */
const QUERY_SHOWN = 120;
/** A cut moves back to the last space when one is this close to the limit; else it cuts mid-word. */
const WORD_SLACK = 30;

/**
 * The holder's query as one short line: whitespace runs become one space, the whole query is
 * redacted BEFORE it is shortened (a cut could remove the closing quote of a password literal,
 * and an unterminated literal is not where a reader expects a secret), other control
 * characters are escaped, and a cut query ends at a word boundary (when there is one near the
 * limit) with `…`. Cutting at a space never splits a `'***'` marker, which holds none.
 */
function shownQuery(query: string): string {
  const redacted = escapeControls(redactText(query.replace(/\s+/g, " ").trim()));
  const clipped = clipRedacted(redacted, QUERY_SHOWN);
  if (clipped.length >= redacted.length) return clipped;
  const space = redacted[clipped.length] === " " ? clipped.length : clipped.lastIndexOf(" ");
  const end = space >= clipped.length - WORD_SLACK && space > 0 ? space : clipped.length;
  return `${clipped.slice(0, end).trimEnd()}…`;
}

/** `192` -> `3m12s`: the largest two units, as a person reads an age. */
function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** `2026-11-24T21:40:03Z (3m12s ago)`, falling back to PostgreSQL's text when the ISO form is absent. */
function shownTime(iso: string | null | undefined, raw: string | null, seconds: number | null | undefined) {
  const at = iso ?? raw;
  if (!at) return "?";
  return seconds === null || seconds === undefined ? at : `${at} (${formatAge(seconds)} ago)`;
}

/** Control characters (C0, DEL, C1) as `\xNN`, so a query cannot write to the terminal. */
function escapeControls(text: string): string {
  let out = "";
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      out += `${text.slice(copied, i)}\\x${c.toString(16).padStart(2, "0")}`;
      copied = i + 1;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * One line naming the holder: pid, user, host, application, since (ISO 8601 UTC and age),
 * state, query (redacted, then shortened). Used in error messages, which stay one line.
 */
export function describeHolder(h: LockHolder): string {
  const query = h.query ? shownQuery(h.query) : "";
  return (
    `pid ${h.pid}, user ${shown(h.user)}, host ${shown(h.host)}, application "${escapeControls(h.application ?? "")}", ` +
    `since ${shownTime(h.sinceIso, h.since, h.sinceSeconds)}, state ${shown(h.state)}${query ? `, query: ${query}` : ""}`
  );
}

/**
 * The holder as labelled values, for a block of aligned lines (`confiture lock status`):
 * pid, user, host, application, since (ISO 8601 UTC and age), state (and for how long),
 * query (redacted first, then shortened at a word boundary with `…`). Every value is one
 * line with control characters escaped.
 * @example holderFields(h) // [["pid", "4242"], ["user", "app"], ..., ["since", "2026-11-24T21:40:03Z (3m12s ago)"], ...]
 */
export function holderFields(h: LockHolder): Array<[label: string, value: string]> {
  const fields: Array<[string, string]> = [
    ["pid", String(h.pid)],
    ["user", shown(h.user)],
    ["host", shown(h.host)],
    ["application", escapeControls(h.application ?? "")],
    ["since", shownTime(h.sinceIso, h.since, h.sinceSeconds)],
    [
      "state",
      h.stateSeconds === null || h.stateSeconds === undefined || h.state === null
        ? shown(h.state)
        : `${escapeControls(h.state)} (for ${formatAge(h.stateSeconds)})`,
    ],
  ];
  if (h.query) fields.push(["query", shownQuery(h.query)]);
  return fields;
}

function shown(value: string | null): string {
  return value === null ? "?" : escapeControls(value);
}

/**
 * Take the lock, waiting up to `timeoutMs`. The wait happens inside PostgreSQL
 * (`lock_timeout` applies to advisory lock waits), so waiters queue fairly instead of polling.
 * Throws LockTimeoutError naming the holder.
 */
export async function acquireMigrationLock(session: Session, key: LockKey, timeoutMs: number): Promise<void> {
  // lock_timeout = 0 means "wait forever"; a configured 0 should mean "don't wait".
  const effective = Math.max(1, Math.round(timeoutMs));
  // The wait is bounded by lock_timeout alone: a role's statement_timeout would cut it short
  // with the wrong error (and the wrong exit code).
  await session.query(
    "select set_config('lock_timeout', $1, false), set_config('statement_timeout', '0', false)",
    [`${effective}ms`],
  );
  try {
    await session.query("select pg_advisory_lock($1::int4, $2::int4)", [key.classid, key.objid], {
      extraMs: effective,
    });
  } catch (err) {
    if (!isLockNotAvailable(err)) throw err;
    const holder = await lockHolder(session, key).catch(() => undefined);
    const who = holder ? describeHolder(holder) : "a session that has since ended";
    throw new LockTimeoutError(
      `the migration lock (${key.label}) is held by another session and was not released within ${formatMs(timeoutMs)}: ${who}. ` +
        `Wait for it to finish, or if it is stuck run "confiture lock status" and "confiture unlock".`,
      { details: { holder } },
    );
  } finally {
    if (!session.closed) await session.query("reset lock_timeout; reset statement_timeout").catch(() => {});
  }
}

/** Release the lock if this session holds it. Never throws: closing the session releases it too. */
export async function releaseMigrationLock(session: Session, key: LockKey): Promise<void> {
  if (session.closed) return;
  await session
    .query("select pg_advisory_unlock($1::int4, $2::int4)", [key.classid, key.objid])
    .catch(() => {});
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * Hold the migration lock for the duration of `fn`: take it (waiting up to `timeoutMs`), run,
 * release. A lost session releases it on the server's side.
 * @example await withMigrationLock(session, key, 60_000, () => applyAll());
 */
export async function withMigrationLock<T>(
  session: Session,
  key: LockKey,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  await acquireMigrationLock(session, key, timeoutMs);
  try {
    return await fn();
  } finally {
    await releaseMigrationLock(session, key);
  }
}
