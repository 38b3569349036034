/**
 * `pitr recover`: prepare a stopped data directory for point-in-time recovery, with the
 * settings its PostgreSQL version reads. 12 and newer: `recovery.signal` plus the settings in
 * `postgresql.auto.conf` (a `recovery.conf` there stops the server from starting); before 12:
 * `recovery.conf`. Needs no database connection: the server is down when this runs.
 */
import { chown, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ConfitureError, UsageError } from "../errors.js";
import { restorePointName } from "../migrations/restore-point.js";

export type RecoveryTargetAction = "promote" | "pause" | "shutdown";
export const RECOVERY_TARGET_ACTIONS: readonly RecoveryTargetAction[] = ["promote", "pause", "shutdown"];

export interface PitrRecoverOptions {
  /** The data directory (stopped). */
  pgdata: string;
  /** Recover up to this time: ISO 8601 with an offset or `Z` (e.g. `2024-01-15T14:30:00Z`). */
  targetTime?: string | undefined;
  /** Or: to the restore point `migrate up` made before this migration (`confiture_before_<id>`). */
  beforeMigration?: string | undefined;
  /** Fetches one archived WAL file: `%f` is its name, `%p` where to put it. */
  restoreCommand: string;
  /** What the server does at the target. Default `pause`: look before ending recovery. */
  targetAction?: RecoveryTargetAction | undefined;
}

export interface PitrRecoverResult {
  pgdata: string;
  /** The major version read from PG_VERSION, e.g. 16 (9.6 gives 9.6). */
  serverMajor: number;
  /** How the settings were written. */
  method: "recovery.signal" | "recovery.conf";
  /** The files written or changed. */
  files: string[];
  /** The settings written, in order. */
  settings: Record<string, string>;
  /** Earlier recovery target lines (not Confiture's) that were commented out: they would conflict. */
  disabled: string[];
  /** Other things worth knowing (a stale postmaster.pid, standby.signal present). */
  warnings: string[];
  /** What to run next, in order, as typed. */
  nextSteps: string[];
}

const BEGIN = "# confiture pitr recover: begin (these lines are replaced when it runs again)";
const END = "# confiture pitr recover: end";

/** ISO 8601: date, `T` or space, time with optional fraction, then `Z`, `UTC` or an offset. */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Check a recovery target time; returns it as PostgreSQL will read it. Throws UsageError for
 * anything that is not an ISO 8601 time with an offset (a time without one would be read in
 * the server's time zone, which is a guess).
 * @example parseTargetTime("2024-01-15T14:30:00Z") // "2024-01-15 14:30:00+00"
 */
export function parseTargetTime(text: string): string {
  const m = ISO_TIME.exec(text.trim());
  const bad = () =>
    new UsageError(
      `--target-time ${JSON.stringify(text)} is not a valid time with a zone: give ISO 8601 with an offset or Z, e.g. 2024-01-15T14:30:00Z or '2024-01-15 14:30:00+01:00'`,
    );
  if (!m) throw bad();
  const [, y, mo, d, h, mi, s = "00", frac, zone] = m as unknown as string[];
  const month = Number(mo);
  const day = Number(d);
  const daysIn = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  )
    throw bad();
  const z = zone!.toUpperCase();
  const offset = z === "Z" || z === "UTC" ? "+00" : z.length === 5 ? `${z.slice(0, 3)}:${z.slice(3)}` : z;
  return `${y}-${mo}-${d} ${h}:${mi}:${s}${frac ? `.${frac}` : ""}${offset}`;
}

/**
 * Write the recovery settings into a stopped data directory.
 * Throws UsageError: PGDATA_INVALID (not a data directory, cannot write), PGDATA_RUNNING (its
 * server runs), USAGE (no or two targets, a bad time, a restore command without %f / %p).
 * @example await pitrRecover({ pgdata: "/var/lib/postgresql/16/main", targetTime: "2024-01-15T14:30:00Z",
 *   restoreCommand: "cp /archive/%f %p", targetAction: "promote" });
 */
export async function pitrRecover(opts: PitrRecoverOptions): Promise<PitrRecoverResult> {
  const pgdata = resolve(opts.pgdata);
  // Check every input before touching the directory.
  if ((opts.targetTime === undefined) === (opts.beforeMigration === undefined))
    throw new UsageError("pitr recover needs exactly one target: --target-time T or --before-migration ID");
  const targetTime = opts.targetTime === undefined ? undefined : parseTargetTime(opts.targetTime);
  if (opts.beforeMigration !== undefined && opts.beforeMigration.trim() === "")
    throw new UsageError("--before-migration needs a migration id, e.g. 20240115_add_users");
  const restoreCommand = opts.restoreCommand.trim();
  if (!restoreCommand.includes("%f") || !restoreCommand.includes("%p"))
    throw new UsageError(
      `--restore-command must name the WAL file (%f) and where to put it (%p), e.g. 'cp /mnt/archive/%f %p'`,
    );
  const action = opts.targetAction ?? "pause";
  if (!RECOVERY_TARGET_ACTIONS.includes(action))
    throw new UsageError(
      `--target-action must be one of ${RECOVERY_TARGET_ACTIONS.join(", ")}, not ${action}`,
    );

  const dirStat = await stat(pgdata).catch(() => undefined);
  if (dirStat === undefined || !dirStat.isDirectory())
    throw new UsageError(
      `${pgdata} is not a directory: give the data directory of the stopped server`,
      "PGDATA_INVALID",
    );
  const versionText = await readFile(join(pgdata, "PG_VERSION"), "utf8").catch(() => undefined);
  const serverMajor = Number(versionText?.trim());
  if (versionText === undefined || !Number.isFinite(serverMajor) || serverMajor <= 0)
    throw new UsageError(
      `${pgdata} is not a PostgreSQL data directory (no readable PG_VERSION): give the directory the server runs on (pg_ctl -D)`,
      "PGDATA_INVALID",
    );
  const warnings: string[] = [];
  const pid = await runningPid(pgdata, warnings);
  if (pid !== undefined)
    throw new UsageError(
      `the server on ${pgdata} is running (postmaster.pid names live process ${pid}): stop it first (pg_ctl -D ${pgdata} stop -m fast), then run pitr recover again; nothing was written`,
      "PGDATA_RUNNING",
    );
  if (await exists(join(pgdata, "standby.signal")))
    warnings.push(
      "standby.signal is present: the server will start as a standby and not end recovery; remove it for a point-in-time recovery",
    );

  const settings: Record<string, string> = { restore_command: restoreCommand };
  if (targetTime !== undefined) {
    settings.recovery_target_time = targetTime;
    // Stop before a transaction that committed exactly at T: "before T" is what a person means.
    settings.recovery_target_inclusive = "false";
  } else {
    settings.recovery_target_name = restorePointName(opts.beforeMigration!.trim());
  }
  settings.recovery_target_action = action;
  if (serverMajor < 9.5 && action !== "pause") {
    // Before 9.5 there was only pause_at_recovery_target.
    delete settings.recovery_target_action;
    settings.pause_at_recovery_target = "false";
  }

  const owner = { uid: dirStat.uid, gid: dirStat.gid };
  const files: string[] = [];
  let disabled: string[] = [];
  let method: PitrRecoverResult["method"];
  try {
    if (serverMajor >= 12) {
      method = "recovery.signal";
      const autoConf = join(pgdata, "postgresql.auto.conf");
      const before = (await readFile(autoConf, "utf8").catch(() => "")) ?? "";
      const { text, disabled: off } = withRecoverySettings(before, settings);
      disabled = off;
      await writeOwned(autoConf, text, owner);
      files.push(autoConf);
      const signal = join(pgdata, "recovery.signal");
      await writeOwned(signal, "", owner);
      files.push(signal);
    } else {
      method = "recovery.conf";
      const conf = join(pgdata, "recovery.conf");
      await writeOwned(conf, `${BEGIN}\n${settingLines(settings)}${END}\n`, owner);
      files.push(conf);
    }
  } catch (err) {
    if (err instanceof ConfitureError) throw err;
    throw new UsageError(
      `cannot write the recovery settings into ${pgdata}: ${(err as Error).message}; run as the data directory's owner or root`,
      "PGDATA_INVALID",
      { cause: err },
    );
  }
  return {
    pgdata,
    serverMajor,
    method,
    files,
    settings,
    disabled,
    warnings,
    nextSteps: nextSteps(pgdata, action, settings),
  };
}

/** The live postmaster's pid, or undefined when none (a stale postmaster.pid adds a warning). */
async function runningPid(pgdata: string, warnings: string[]): Promise<number | undefined> {
  const text = await readFile(join(pgdata, "postmaster.pid"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const pid = Number(text.split("\n")[0]?.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    warnings.push("postmaster.pid is present but unreadable; the server removes a stale one when it starts");
    return undefined;
  }
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EPERM") return pid; // alive, someone else's
    warnings.push(
      `postmaster.pid names process ${pid}, which is gone (a crash?): the server will remove it when it starts`,
    );
    return undefined;
  }
}

/** `postgresql.auto.conf` with our block replaced and other recovery targets commented out. */
function withRecoverySettings(
  before: string,
  settings: Record<string, string>,
): { text: string; disabled: string[] } {
  const kept: string[] = [];
  const disabled: string[] = [];
  let inBlock = false;
  for (const line of before.split("\n")) {
    if (line === BEGIN) inBlock = true;
    else if (line === END) inBlock = false;
    else if (!inBlock) {
      // Another recovery target (or a second restore_command) would conflict with ours.
      if (/^\s*(recovery_target\w*|restore_command|pause_at_recovery_target)\s*=/.test(line)) {
        disabled.push(line.trim());
        kept.push(`# disabled by confiture pitr recover: ${line}`);
      } else kept.push(line);
    }
  }
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
  const head = kept.length > 0 ? `${kept.join("\n")}\n` : "";
  return { text: `${head}${BEGIN}\n${settingLines(settings)}${END}\n`, disabled };
}

function settingLines(settings: Record<string, string>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k} = '${v.replace(/\\/g, "\\\\").replace(/'/g, "''")}'\n`)
    .join("");
}

/** Write atomically (temp file + rename), mode 0600, owned like the data directory. */
async function writeOwned(path: string, text: string, owner: { uid: number; gid: number }): Promise<void> {
  const tmp = `${path}.confiture-tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  if (process.getuid?.() === 0) await chown(tmp, owner.uid, owner.gid);
  await rename(tmp, path);
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

function nextSteps(pgdata: string, action: RecoveryTargetAction, settings: Record<string, string>): string[] {
  const target = settings.recovery_target_time
    ? `recovery stopping before commit of transaction ..., time ...`
    : `recovery stopping at restore point "${settings.recovery_target_name}"`;
  const steps = [
    `pg_ctl -D ${pgdata} -l ${pgdata}/recovery.log start   (as the data directory's owner, e.g. sudo -u postgres; or: systemctl start postgresql)`,
    `watch the server log for "${target}" (and "restored log file" lines as WAL is fetched)`,
  ];
  if (action === "pause")
    steps.push(
      "check the data (the server is read-only, paused at the target); then end recovery: select pg_wal_replay_resume();  (or move the target and restart)",
    );
  else if (action === "promote")
    steps.push(
      'the server promotes itself at the target (log: "archive recovery complete"); select pg_is_in_recovery() returns false',
    );
  else
    steps.push(
      "the server shuts down at the target; move the target if needed, then start it again without recovery.signal",
    );
  steps.push("confiture migrate status", "confiture verify");
  return steps;
}
