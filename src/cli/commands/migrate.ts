/** `confiture migrate generate|up|down`: write, apply and roll back migrations. */
import {
  COMMANDS,
  generateMigration,
  migrateDown,
  migrateUp,
  type RunnerEvent,
  UsageError,
} from "../../index.js";
import type { Output, Paint } from "../output.js";
import { confirmOnTty } from "../prompt.js";
import { defineCommand, flag, negatable, value } from "../spec.js";

/** A new `<timestamp>_<name>.up.sql` and `.down.sql`. */
export const migrateGenerateCommand = defineCommand({
  name: COMMANDS.migrateGenerate,
  example: "confiture migrate generate add_users_email",
  description: "create <timestamp>_<name>.up.sql and .down.sql",
  arguments: { name: "<name>" },
  async run({ config, args }) {
    const r = await generateMigration(await config(), args.name);
    return { json: { ...r }, text: () => `created ${r.upPath}\ncreated ${r.downPath}` };
  },
});

/** Apply pending migrations, reporting each one as it starts (on a terminal). */
export const migrateUpCommand = defineCommand({
  name: COMMANDS.migrateUp,
  example: "confiture migrate up\nconfiture migrate up --target 002 --dry-run",
  changesDatabase: (o) => !o.dryRun,
  description: "apply pending migrations in order, each in its own transaction",
  options: {
    target: value(
      "--target <id>",
      "apply up to and including this migration (an id, or a bare version such as 2)",
    ),
    dryRun: flag("--dry-run", "run inside a transaction that is rolled back, and report"),
    verifyChecksums: negatable(
      "--verify-checksums",
      "refuse to start when an applied migration's file changed (the default; --no-verify-checksums skips it)",
    ),
    adoptNonEmpty: flag(
      "--adopt-non-empty",
      "apply even though the history is empty and the schema already holds objects (refused by default as lost history)",
    ),
  },
  async run({ out, config, options }) {
    const r = await migrateUp(await config(), {
      ...options,
      onEvent: (e) => {
        if (e.type === "applying") out.progress(`applying ${e.id} ...`);
        // Committed: on stdout now, so it stays on screen even if a later migration fails.
        else if (e.type === "applied" && !e.dryRun) out.line(appliedLine(out.paint, "applied", e));
        else if (e.type === "warning") out.warn(e.message);
        else if (e.type === "restore-point")
          out.note(
            `restore point ${e.name} at ${e.lsn}: to recover to just before ${e.before}, recover with recovery_target_name = '${e.name}'`,
          );
        else if (e.type === "lock-retry") warnLockRetry(out, e);
        else if (e.type === "statement") out.progress(`  ${e.id}: statement ${e.index}/${e.total}`);
      },
    });
    return {
      json: { ...r },
      text: (p) => {
        // Applied migrations were printed as they were committed; a dry run's only now.
        const lines = r.dryRun ? r.applied.map((a) => appliedLine(p, "would apply", a)) : [];
        if (r.applied.length === 0)
          lines.push(`Nothing to apply: ${r.alreadyApplied} migration(s) already applied.`);
        else
          lines.push(
            r.dryRun
              ? `Dry run: ${r.applied.length} migration(s) ran and were rolled back; nothing was changed.`
              : `${r.applied.length} migration(s) applied (${r.alreadyApplied} were already applied).`,
          );
        if (r.remaining.length > 0)
          lines.push(`${r.remaining.length} pending after the target: ${r.remaining.join(", ")}.`);
        return lines.join("\n");
      },
    };
  },
});

/** Roll back the newest migrations; a protected environment asks at a terminal. */
export const migrateDownCommand = defineCommand({
  name: COMMANDS.migrateDown,
  example:
    "confiture migrate down --steps 1\nconfiture --env production migrate down --target 001_create_users --force",
  changesDatabase: (o) => !o.dryRun,
  description: "run .down.sql files newest first",
  options: {
    steps: value("--steps <n>", "how many migrations to roll back"),
    target: value(
      "--target <id>",
      "roll back every migration newer than this one, which stays applied (an id, or a bare version such as 1)",
    ),
    dryRun: flag("--dry-run", "run inside a transaction that is rolled back, and report"),
    force: flag("--force", "skip the confirmation on protected environments"),
  },
  async run({ out, config, options }) {
    const steps = wholeNumber(options.steps);
    const cfg = await config();
    const r = await migrateDown(cfg, {
      steps,
      target: options.target,
      dryRun: options.dryRun,
      force: options.force,
      confirm: confirmOnTty(cfg.environment ?? ""),
      onEvent: (e) => {
        if (e.type === "rolling-back") out.progress(`rolling back ${e.id} ...`);
        else if (e.type === "warning") out.warn(e.message);
        else if (e.type === "lock-retry") warnLockRetry(out, e);
      },
    });
    return {
      json: { ...r },
      text: (p) => {
        const verb = r.dryRun ? "would roll back" : "rolled back";
        const lines = r.rolledBack.map((x) => `${p.yellow(verb)} ${x.id} ${p.dim(`(${x.durationMs} ms)`)}`);
        const n = r.rolledBack.length;
        if (n === 0)
          lines.push(
            r.target
              ? `Nothing to roll back: ${r.target} is the newest applied migration.`
              : "Nothing to roll back.",
          );
        else if (r.dryRun)
          lines.push(`Dry run: ${n} migration(s) ran and were rolled back; nothing was changed.`);
        else lines.push(`${n} migration(s) rolled back.`);
        return lines.join("\n");
      },
    };
  },
});

// Checked before the configuration is loaded, so a bad --steps is reported first; the library
// takes a number and refuses 0 with its own message.
function wholeNumber(steps: string | undefined): number | undefined {
  if (steps === undefined) return undefined;
  if (!/^\d+$/.test(steps)) throw new UsageError(`--steps must be a whole number (got "${steps}")`);
  return Number(steps);
}

/** `applied 001_a (12 ms)`: one migration that ran. */
function appliedLine(p: Paint, verb: string, a: { id: string; durationMs: number }): string {
  return `${p.green(verb)} ${a.id} ${p.dim(`(${a.durationMs} ms)`)}`;
}

function warnLockRetry(out: Output, e: Extract<RunnerEvent, { type: "lock-retry" }>): void {
  out.warn(`${e.id}: lock_timeout reached (attempt ${e.attempt}); retrying in ${e.delayMs} ms`);
}
