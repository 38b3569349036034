/**
 * The scratch database: where the expected schema is built by replaying migrations (or the
 * `db/schema/` files), so that it can be read with the same introspection as the live one.
 *
 * By default it is created on the configured database's server (`CREATE DATABASE ... TEMPLATE
 * template0`, named `confiture_scratch_<UTC time>_<random>`) and dropped afterwards, also when
 * the work fails. With `--scratch-url` an existing database is used instead: it must be empty
 * (its managed schema holds no object) and is emptied again afterwards (the managed schema is
 * re-created with its owner and grants; schemas and extensions the replay added are dropped).
 * A scratch database a killed run left behind is dropped by the next run once it is two minutes
 * old and nobody is connected to it (a run in progress is always connected to its own).
 */
import { randomBytes } from "node:crypto";
import { findUserObjects } from "../catalog/index.js";
import { type ConnectionSpec, onDatabase } from "../db/connection-spec.js";
import { quoteIdent, quoteLiteral } from "../db/identifiers.js";
import { openSession, type Session } from "../db/session.js";
import { withSession } from "../db/with-session.js";
import { ConfitureError, SqlError, UsageError } from "../errors.js";

/** Where the scratch database comes from. */
export interface ScratchOptions {
  /** The configured database: by default the scratch database is created on its server. */
  live: ConnectionSpec;
  /** An existing, empty database to use instead (`--scratch-url`); emptied again afterwards. */
  scratchUrl?: string | undefined;
  /** The managed schema: created in the scratch database when missing, as `up` creates it. */
  schema: string;
  /**
   * Leave the database as the work left it (`backup verify --keep`): a created one is not dropped
   * (its name ends in `_kept`, so no later run takes it for an interrupted run's leftover), a
   * `--scratch-url` one is not emptied.
   */
  keep?: boolean | undefined;
}

/** The scratch database in use. */
export interface ScratchDatabase {
  session: Session;
  /** Its name, e.g. `confiture_scratch_20261125T101500_1a2b3c4d`. */
  database: string;
  /** True when Confiture created it (and drops it); false for `--scratch-url`. */
  created: boolean;
}

/** What happened around the work: notes for the user (a scratch database that could not be dropped, stale ones dropped). */
export interface ScratchOutcome<T> {
  value: T;
  /** The scratch database used (dropped or emptied again by the time this returns, unless a note says otherwise). */
  database: string;
  notes: string[];
  /** True when the database was left in place (`keep`). */
  kept: boolean;
}

const PREFIX = "confiture_scratch_";

/**
 * Run `fn` against a scratch database, then remove it (or empty it), whatever happened.
 * @example const { value } = await withScratchDatabase({ live, schema: "public" }, ({ session }) => replay(session));
 */
export async function withScratchDatabase<T>(
  opts: ScratchOptions,
  fn: (scratch: ScratchDatabase) => Promise<T>,
): Promise<ScratchOutcome<T>> {
  return opts.scratchUrl === undefined ? createdScratch(opts, fn) : givenScratch(opts, opts.scratchUrl, fn);
}

async function createdScratch<T>(
  opts: ScratchOptions,
  fn: (scratch: ScratchDatabase) => Promise<T>,
): Promise<ScratchOutcome<T>> {
  const notes: string[] = [];
  const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15);
  const name = `${PREFIX}${stamp}_${randomBytes(4).toString("hex")}${opts.keep ? "_kept" : ""}`;
  const admin = { ...opts.live, applicationName: `${opts.live.applicationName} (scratch)` };
  await withSession(admin, async (session) => {
    const stale = await dropStaleScratch(session);
    if (stale.length > 0)
      notes.push(`dropped scratch database(s) an earlier interrupted run left: ${stale.join(", ")}`);
    const [db] = await session.query<{ enc: string; collate: string; ctype: string }>(
      "select pg_encoding_to_char(encoding) as enc, datcollate as collate, datctype as ctype from pg_database where datname = current_database()",
    );
    try {
      await session.query(
        `create database ${quoteIdent(name)} template template0 encoding ${quoteLiteral(db!.enc)} ` +
          `lc_collate ${quoteLiteral(db!.collate)} lc_ctype ${quoteLiteral(db!.ctype)}`,
      );
    } catch (err) {
      throw scratchRefused(err, session);
    }
  });
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    const session = await openSession(onDatabase(opts.live, name, `${opts.live.applicationName} (scratch)`));
    try {
      await ensureSchema(session, opts.schema);
      outcome = { ok: true, value: await fn({ session, database: name, created: true }) };
    } finally {
      await session.close();
    }
  } catch (err) {
    outcome = { ok: false, error: naming(name, err) };
  }
  if (opts.keep)
    return settle(outcome, name, notes, keptNote(name, `DROP DATABASE ${quoteIdent(name)}`), true);
  const dropped = await withSession(admin, (s) => dropDatabase(s, name)).catch((err: unknown) =>
    err instanceof Error ? err.message : String(err),
  );
  const left =
    dropped === true
      ? undefined
      : `the scratch database ${name} could not be dropped (${dropped}); drop it with: DROP DATABASE ${quoteIdent(name)}`;
  return settle(outcome, name, notes, left);
}

/**
 * The work's result, or its error; a scratch database left behind is said either way (as a note,
 * or appended to the error, which would otherwise hide it).
 */
function settle<T>(
  outcome: { ok: true; value: T } | { ok: false; error: unknown },
  database: string,
  notes: string[],
  left: string | undefined,
  kept = false,
): ScratchOutcome<T> {
  if (outcome.ok)
    return { value: outcome.value, database, notes: left === undefined ? notes : [...notes, left], kept };
  const err = outcome.error;
  if (left !== undefined && err instanceof ConfitureError) throw err.withNote(` Also: ${left}.`);
  throw err;
}

/** What a kept scratch database is, and how to get rid of it. */
function keptNote(database: string, cleanup: string): string {
  return `the scratch database ${database} was kept (--keep); when done with it: ${cleanup}`;
}

/** A failure inside the scratch database names it in its details (JSON `error.details.scratchDatabase`). */
function naming(database: string, err: unknown): unknown {
  return err instanceof ConfitureError ? err.withNote("", { scratchDatabase: database }) : err;
}

/** The one-line refusal when CREATE DATABASE fails, with the way around it. */
function scratchRefused(err: unknown, session: Session): unknown {
  if (!(err instanceof SqlError)) return err;
  if (session.readOnly !== null || err.server.sqlstate === "25006") {
    return new UsageError(
      `cannot create a scratch database on ${session.target} to build the expected schema: the server is read-only ` +
        `(${session.readOnly === "standby" ? "a standby" : "read-only by default"}). Pass --scratch-url with an empty database on a writable server (e.g. the primary)`,
      "SCRATCH_UNAVAILABLE",
      { cause: err },
    );
  }
  const why =
    err.server.sqlstate === "42501"
      ? `role "${session.user}" may not create databases (it lacks CREATEDB)`
      : `${err.message}${err.server.sqlstate ? ` (${err.server.sqlstate})` : ""}`;
  return new UsageError(
    `cannot create a scratch database on ${session.target} to build the expected schema: ${why}. ` +
      `Pass --scratch-url with an empty database Confiture may use (it is emptied again afterwards), ` +
      `or grant CREATEDB to the role`,
    "SCRATCH_UNAVAILABLE",
    { cause: err },
  );
}

async function dropDatabase(session: Session, name: string): Promise<true> {
  // WITH (FORCE), PostgreSQL 13+: a session of ours that did not close cleanly must not keep it alive.
  const force = session.serverVersionNum >= 130000 ? " with (force)" : "";
  await session.query(`drop database if exists ${quoteIdent(name)}${force}`);
  return true;
}

/**
 * Scratch databases at least two minutes old (by the time in their name) with no session: a run
 * that was killed before it could drop its own (a run in progress is connected to its scratch
 * database from a moment after creating it until just before dropping it). Only names Confiture
 * gives are considered.
 */
async function dropStaleScratch(session: Session): Promise<string[]> {
  const rows = await session.query<{ name: string }>(
    `select datname as name from pg_database d
      where datname ~ '^confiture_scratch_[0-9]{8}T[0-9]{6}_[0-9a-f]{8}$'
        and to_timestamp(substr(datname, 19, 15), 'YYYYMMDD"T"HH24MISS') at time zone 'UTC' < now() at time zone 'UTC' - interval '2 minutes'
        and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)`,
  );
  const dropped: string[] = [];
  for (const { name } of rows) {
    try {
      await session.query(`drop database if exists ${quoteIdent(name)}`);
      dropped.push(name);
    } catch {
      // Someone connected meanwhile, or it is not ours to drop: left alone.
    }
  }
  return dropped;
}

async function ensureSchema(session: Session, schema: string): Promise<void> {
  try {
    await session.query(`create schema if not exists ${quoteIdent(schema)}`);
    // The replay creates objects in the managed schema: find out now, not as a migration's failure.
    const [may] = await session.query<{ ok: boolean }>("select has_schema_privilege($1, 'CREATE') as ok", [
      schema,
    ]);
    if (may?.ok === false)
      throw new UsageError(
        `role "${session.user}" may not create objects in schema ${schema} there`,
        "SCRATCH_UNAVAILABLE",
      );
  } catch (err) {
    if (err instanceof SqlError && err.server.sqlstate === "42501")
      throw new UsageError(
        `cannot build the expected schema in the scratch database ${session.database}: ${err.message} (42501). ` +
          "Give a role that may create schemas and objects there (or another --scratch-url)",
        "SCRATCH_UNAVAILABLE",
        { cause: err },
      );
    throw err;
  }
}

interface Grant {
  grantee: string;
  privilege: string;
  grantable: boolean;
}

interface SchemaState {
  schemas: string[];
  extensions: string[];
  managed: { owner: string; grants: Grant[] } | null;
}

async function givenScratch<T>(
  opts: ScratchOptions,
  url: string,
  fn: (scratch: ScratchDatabase) => Promise<T>,
): Promise<ScratchOutcome<T>> {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== "postgres:" && protocol !== "postgresql:") {
    // Not echoed: a malformed URL may still hold a password no pattern would recognise.
    throw new UsageError(
      "--scratch-url is not a valid postgres:// URL (expected postgres://user@host:5432/dbname); it is not printed because it may contain a password",
      "SCRATCH_UNAVAILABLE",
    );
  }
  const spec: ConnectionSpec = {
    connectionString: url,
    applicationName: `${opts.live.applicationName} (scratch)`,
    schema: opts.schema,
    queryTimeoutMs: opts.live.queryTimeoutMs,
    source: "--scratch-url",
  };
  const session = await openSession(spec);
  const notes: string[] = [];
  try {
    await refuseLiveDatabase(opts.live, session);
    const found = await findUserObjects(session, opts.schema, { names: [] });
    if (found.count > 0) {
      throw new UsageError(
        `the scratch database ${session.database} (--scratch-url) is not empty: schema ${opts.schema} holds ${found.count} object(s), ` +
          `e.g. ${found.sample.map((o) => `${o.kind} ${o.name}`).join(", ")}. Give --scratch-url an empty database; ` +
          "Confiture empties it again after use",
        "SCRATCH_UNAVAILABLE",
      );
    }
    const before = await schemaState(session, opts.schema);
    // An extension already there would be part of the expected schema (and dropped with the
    // managed schema afterwards): the database is not empty.
    const extensions = before.extensions.filter((x) => x !== "plpgsql");
    if (extensions.length > 0) {
      throw new UsageError(
        `the scratch database ${session.database} (--scratch-url) is not empty: it has extension(s) ${extensions.join(", ")}. ` +
          "Give --scratch-url an empty database; Confiture empties it again after use",
        "SCRATCH_UNAVAILABLE",
      );
    }
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      await ensureSchema(session, opts.schema);
      outcome = { ok: true, value: await fn({ session, database: session.database, created: false }) };
    } catch (err) {
      outcome = { ok: false, error: naming(session.database, err) };
    }
    if (opts.keep)
      return settle(
        outcome,
        session.database,
        notes,
        keptNote(session.database, "empty it by hand before its next use"),
        true,
      );
    const problem = await restore(session, opts.schema, before).catch((err: unknown) =>
      err instanceof Error ? err.message : String(err),
    );
    const left =
      problem === undefined
        ? undefined
        : `the scratch database ${session.database} could not be emptied again (${problem}); empty it by hand before the next run`;
    return settle(outcome, session.database, notes, left);
  } finally {
    await session.close();
  }
}

/** `--scratch-url` naming the configured database itself would empty production: refused. */
async function refuseLiveDatabase(live: ConnectionSpec, scratch: Session): Promise<void> {
  const identity =
    "select current_database() || ':' || coalesce(inet_server_port(), 0) || ':' || pg_postmaster_start_time() as id";
  const [theirs] = await scratch.query<{ id: string }>(identity);
  const ours = await withSession(live, (s) => s.query<{ id: string }>(identity));
  if (ours[0]?.id === theirs?.id) {
    throw new UsageError(
      `--scratch-url names the configured database ${scratch.database} itself; give it a separate, empty database`,
      "SCRATCH_UNAVAILABLE",
    );
  }
}

async function schemaState(session: Session, schema: string): Promise<SchemaState> {
  const [row] = await session.query<{
    schemas: string[];
    extensions: string[];
    owner: string | null;
    grants: Grant[];
  }>(
    `select array(select nspname::text from pg_namespace where nspname !~ '^pg_' and nspname <> 'information_schema') as schemas,
            array(select extname::text from pg_extension) as extensions,
            (select pg_get_userbyid(nspowner) from pg_namespace where nspname = $1) as owner,
            (select coalesce(json_agg(json_build_object(
                       'grantee', case when a.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(a.grantee)) end,
                       'privilege', a.privilege_type, 'grantable', a.is_grantable)), '[]')
               from pg_namespace n, aclexplode(n.nspacl) a where n.nspname = $1) as grants`,
    [schema],
  );
  return {
    schemas: row!.schemas,
    extensions: row!.extensions,
    managed: row!.owner === null ? null : { owner: row!.owner, grants: row!.grants },
  };
}

/** Put the given scratch database back as it was: undefined when done. */
async function restore(session: Session, schema: string, before: SchemaState): Promise<undefined> {
  const after = await schemaState(session, schema);
  for (const ext of after.extensions.filter((e) => !before.extensions.includes(e)))
    await session.query(`drop extension if exists ${quoteIdent(ext)} cascade`);
  for (const s of after.schemas.filter((n) => n !== schema && !before.schemas.includes(n)))
    await session.query(`drop schema if exists ${quoteIdent(s)} cascade`);
  await session.query(`drop schema if exists ${quoteIdent(schema)} cascade`);
  if (before.managed !== null) {
    await session.query(`create schema ${quoteIdent(schema)}`);
    await session.query(`alter schema ${quoteIdent(schema)} owner to ${quoteIdent(before.managed.owner)}`);
    await session.query(`revoke all on schema ${quoteIdent(schema)} from public`);
    for (const g of before.managed.grants) {
      await session.query(
        `grant ${g.privilege} on schema ${quoteIdent(schema)} to ${g.grantee}${g.grantable ? " with grant option" : ""}`,
      );
    }
  }
  return undefined;
}
