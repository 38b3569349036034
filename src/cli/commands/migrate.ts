/** `confiture migrate ...`: generate, up, down, status, and the history commands. */
import type { Command } from "commander";
import {
  baseline,
  generateMigration,
  migrateDown,
  migrateUp,
  migrationChecksum,
  repairChecksum,
  resolveFailed,
  UsageError,
  verifyChecksums,
} from "../../index.js";
import { EXIT } from "../exit-codes.js";
import type { Runner } from "../main.js";
import { confirmOnTty } from "../prompt.js";
import { registerStatusCommand } from "./status.js";

export function registerMigrateCommands(program: Command, run: Runner): void {
  const migrate = program.command("migrate").description("apply, roll back and inspect migrations");

  migrate
    .command("generate <name>")
    .description("create <timestamp>_<name>.up.sql and .down.sql")
    .action(
      run("migrate generate", async ({ out, config }, name) => {
        const r = await generateMigration(await config(), String(name));
        out.result("migrate generate", r, () => `Created ${r.upPath}\nCreated ${r.downPath}`);
        return EXIT.ok;
      }),
    );

  migrate
    .command("up")
    .description("apply pending migrations in order, each in its own transaction")
    .option("--target <id>", "apply up to and including this migration")
    .option("--dry-run", "run inside a transaction that is rolled back, and report")
    .option("--verify-checksums", "refuse to start when an applied migration's file changed")
    .action(
      run("migrate up", async ({ out, config }, o) => {
        const opts = o as { target?: string; dryRun?: boolean; verifyChecksums?: boolean };
        const r = await migrateUp(await config(), {
          ...opts,
          onEvent: (e) => {
            if (e.type === "applying") out.progress(`applying ${e.id} ...`);
            else if (e.type === "warning") out.warn(e.message);
            else if (e.type === "lock-retry")
              out.warn(`${e.id}: lock_timeout reached (attempt ${e.attempt}); retrying in ${e.delayMs} ms`);
            else if (e.type === "statement") out.progress(`  ${e.id}: statement ${e.index}/${e.total}`);
          },
        });
        out.result("migrate up", { ...r }, () => {
          const p = out.paint;
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
        });
        return EXIT.ok;
      }),
    );

  migrate
    .command("down")
    .description("run .down.sql files newest first")
    .option("--steps <n>", "how many migrations to roll back")
    .option("--target <id>", "roll back every migration newer than this one")
    .option("--dry-run", "run inside a transaction that is rolled back, and report")
    .option("--force", "skip the confirmation on protected environments")
    .action(
      run("migrate down", async ({ out, config }, o) => {
        const opts = o as { steps?: string; target?: string; dryRun?: boolean; force?: boolean };
        let steps: number | undefined;
        if (opts.steps !== undefined) {
          if (!/^\d+$/.test(opts.steps))
            throw new UsageError(`--steps must be a whole number (got "${opts.steps}")`);
          steps = Number(opts.steps);
        }
        const cfg = await config();
        const r = await migrateDown(cfg, {
          steps,
          target: opts.target,
          dryRun: opts.dryRun,
          force: opts.force,
          confirm: confirmOnTty(cfg.environment ?? ""),
          onEvent: (e) => {
            if (e.type === "rolling-back") out.progress(`rolling back ${e.id} ...`);
            else if (e.type === "lock-retry")
              out.warn(`${e.id}: lock_timeout reached (attempt ${e.attempt}); retrying in ${e.delayMs} ms`);
          },
        });
        out.result("migrate down", { ...r }, () => {
          const verb = r.dryRun ? "would roll back" : "rolled back";
          const lines = r.rolledBack.map(
            (x) => `${out.paint.yellow(verb)} ${x.id} ${out.paint.dim(`(${x.durationMs} ms)`)}`,
          );
          if (r.dryRun) lines.push("Dry run: rolled back; nothing was changed.");
          return lines.join("\n");
        });
        return EXIT.ok;
      }),
    );

  registerStatusCommand(migrate, run);

  migrate
    .command("verify-checksums")
    .description("compare stored checksums with the files")
    .option("--repair <id>", "accept this migration's current file content (recorded as an event)")
    .action(
      run("migrate verify-checksums", async ({ out, config }, o) => {
        const opts = o as { repair?: string };
        const cfg = await config();
        if (opts.repair) {
          const r = await repairChecksum(cfg, opts.repair);
          out.result(
            "migrate verify-checksums",
            { repaired: r },
            () => `Checksum of ${r.id} updated to ${r.checksum}`,
          );
          return EXIT.ok;
        }
        const r = await verifyChecksums(cfg);
        const problem =
          r.problems.length === 0
            ? undefined
            : {
                code: "CHECKSUM_MISMATCH",
                message: `${r.problems.length} applied migration(s) do not match their files: ${r.problems.map((p) => `${p.id} (${p.kind})`).join(", ")}`,
              };
        out.result(
          "migrate verify-checksums",
          { ...r },
          () => {
            if (r.problems.length === 0)
              return `All ${r.checked} applied migration checksums match their files.`;
            const lines = r.problems.map((p) => {
              if (p.kind === "missing-file") return `${out.paint.red("missing file")}  ${p.id}`;
              if (p.kind === "missing-checksum")
                return `${out.paint.red("no checksum")}   ${p.id}: file is ${p.actual} (accept with --repair ${p.id})`;
              return `${out.paint.red("mismatch")}      ${p.id}: recorded ${p.recorded}, file ${p.actual}`;
            });
            lines.push(
              `${r.problems.length} problem(s). If a change is intended, run "confiture migrate verify-checksums --repair ID".`,
            );
            return lines.join("\n");
          },
          problem,
        );
        return problem ? EXIT.check : EXIT.ok;
      }),
    );

  migrate
    .command("checksum <file-or-id>")
    .description("print the checksum a migration file is recorded with")
    .action(
      run("migrate checksum", async ({ out, config }, ref) => {
        const r = await migrationChecksum(await config(), String(ref));
        out.result("migrate checksum", r, () => r.checksum);
        return EXIT.ok;
      }),
    );

  migrate
    .command("baseline")
    .description("mark migrations up to ID as applied without running them")
    .requiredOption("--through <id>", "the last migration to mark")
    .action(
      run("migrate baseline", async ({ out, config }, o) => {
        const r = await baseline(await config(), (o as { through: string }).through);
        out.result("migrate baseline", r, () =>
          [
            ...r.baselined.map((id) => `${out.paint.cyan("baseline")} ${id}`),
            `${r.baselined.length} migration(s) marked as applied (baseline); ${r.skipped.length} already recorded.`,
          ].join("\n"),
        );
        return EXIT.ok;
      }),
    );

  migrate
    .command("resolve <id>")
    .description("settle a failed no-transaction migration after manual cleanup")
    .option("--applied", "it did complete: record it as applied")
    .option("--rolled-back", "its changes were undone: remove its history row")
    .action(
      run("migrate resolve", async ({ out, config }, id, o) => {
        const opts = o as { applied?: boolean; rolledBack?: boolean };
        if (opts.applied === opts.rolledBack) {
          throw new UsageError("give exactly one of --applied or --rolled-back");
        }
        const r = await resolveFailed(await config(), String(id), opts.applied ? "applied" : "rolled-back");
        out.result("migrate resolve", r, () =>
          r.resolution === "applied"
            ? `${r.id} recorded as applied.`
            : `${r.id} removed from history; fix the file and run "confiture migrate up".`,
        );
        return EXIT.ok;
      }),
    );
}
