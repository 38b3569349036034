/** `confiture migrate generate|up|down`: write, apply and roll back migrations. */
import {
  COMMANDS,
  generateMigration,
  migrateDown,
  migrateUp,
  type RunnerEvent,
  UsageError,
} from "../../index.js";
import type { Output } from "../output.js";
import { confirmOnTty } from "../prompt.js";
import { defineCommand, flag, value } from "../spec.js";

/** A new `<timestamp>_<name>.up.sql` and `.down.sql`. */
export const migrateGenerateCommand = defineCommand({
  name: COMMANDS.migrateGenerate,
  description: "create <timestamp>_<name>.up.sql and .down.sql",
  arguments: { name: "<name>" },
  async run({ config, args }) {
    const r = await generateMigration(await config(), args.name);
    return { json: { ...r }, text: () => `Created ${r.upPath}\nCreated ${r.downPath}` };
  },
});

/** Apply pending migrations, reporting each one as it starts (on a terminal). */
export const migrateUpCommand = defineCommand({
  name: COMMANDS.migrateUp,
  description: "apply pending migrations in order, each in its own transaction",
  options: {
    target: value("--target <id>", "apply up to and including this migration"),
    dryRun: flag("--dry-run", "run inside a transaction that is rolled back, and report"),
    verifyChecksums: flag("--verify-checksums", "refuse to start when an applied migration's file changed"),
  },
  async run({ out, config, options }) {
    const r = await migrateUp(await config(), {
      ...options,
      onEvent: (e) => {
        if (e.type === "applying") out.progress(`applying ${e.id} ...`);
        else if (e.type === "warning") out.warn(e.message);
        else if (e.type === "lock-retry") warnLockRetry(out, e);
        else if (e.type === "statement") out.progress(`  ${e.id}: statement ${e.index}/${e.total}`);
      },
    });
    return {
      json: { ...r },
      text: (p) => {
        const verb = r.dryRun ? "would apply" : "applied";
        const lines = r.applied.map((a) => `${p.green(verb)} ${a.id} ${p.dim(`(${a.durationMs} ms)`)}`);
        if (r.applied.length === 0)
          lines.push(`Nothing to apply: ${r.alreadyApplied} migration(s) already applied.`);
        else
          lines.push(
            r.dryRun
              ? `Dry run: ${r.applied.length} migration(s) ran and were rolled back; nothing was changed.`
              : `${r.applied.length} migration(s) applied (${r.alreadyApplied} were already applied).`,
          );
        if (r.remaining.length > 0)
          lines.push(`${r.remaining.length} pending after the target: ${r.remaining.join(", ")}`);
        return lines.join("\n");
      },
    };
  },
});

/** Roll back the newest migrations; a protected environment asks at a terminal. */
export const migrateDownCommand = defineCommand({
  name: COMMANDS.migrateDown,
  description: "run .down.sql files newest first",
  options: {
    steps: value("--steps <n>", "how many migrations to roll back"),
    target: value("--target <id>", "roll back every migration newer than this one"),
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
        else if (e.type === "lock-retry") warnLockRetry(out, e);
      },
    });
    return {
      json: { ...r },
      text: (p) => {
        const verb = r.dryRun ? "would roll back" : "rolled back";
        const lines = r.rolledBack.map((x) => `${p.yellow(verb)} ${x.id} ${p.dim(`(${x.durationMs} ms)`)}`);
        if (r.dryRun) lines.push("Dry run: rolled back; nothing was changed.");
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

function warnLockRetry(out: Output, e: Extract<RunnerEvent, { type: "lock-retry" }>): void {
  out.warn(`${e.id}: lock_timeout reached (attempt ${e.attempt}); retrying in ${e.delayMs} ms`);
}
