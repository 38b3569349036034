/**
 * `confiture migrate verify-checksums|checksum|baseline|resolve`: the commands that read or
 * settle history without running migrations (the disaster-recovery runbook uses them).
 */
import {
  baseline,
  COMMANDS,
  migrationChecksum,
  repairChecksum,
  resolveFailed,
  UsageError,
  verifyChecksums,
} from "../../index.js";
import { defineCommand, flag, required, value } from "../spec.js";

/** Compare recorded checksums with the files (exit 3 on a problem), or accept one file with --repair. */
export const migrateVerifyChecksumsCommand = defineCommand({
  name: COMMANDS.migrateVerifyChecksums,
  example: "confiture migrate verify-checksums\nconfiture migrate verify-checksums --repair 002_add_email",
  changesDatabase: (o) => o.repair !== undefined,
  description: "compare stored checksums with the files",
  options: {
    repair: value("--repair <id>", "accept this migration's current file content (recorded as an event)"),
  },
  async run({ config, options }) {
    const cfg = await config();
    if (options.repair) {
      const repaired = await repairChecksum(cfg, options.repair);
      return {
        json: { repaired },
        text: () => `Checksum of ${repaired.id} updated to ${repaired.checksum}.`,
      };
    }
    const r = await verifyChecksums(cfg);
    return {
      json: { ...r },
      report: r.report,
      text: (p) => {
        if (r.problems.length === 0) return `All ${r.checked} applied migration checksums match their files.`;
        const lines = r.problems.map((x) => {
          if (x.kind === "missing-file") return `${p.red("missing file")}  ${x.id}`;
          if (x.kind === "missing-checksum")
            return `${p.red("no checksum")}   ${x.id}: file is ${x.actual} (accept with --repair ${x.id})`;
          return `${p.red("mismatch")}      ${x.id}: recorded ${x.recorded}, file ${x.actual}`;
        });
        lines.push(
          `${r.problems.length} problem(s). If a change is intended, run "confiture migrate verify-checksums --repair ID".`,
        );
        return lines.join("\n");
      },
    };
  },
});

/** The SHA-256 a file is recorded with (for reconstructing history by hand). */
export const migrateChecksumCommand = defineCommand({
  name: COMMANDS.migrateChecksum,
  example: "confiture migrate checksum 001_create_users",
  description: "print the checksum a migration file is recorded with",
  arguments: { ref: "<file-or-id>" },
  async run({ config, args }) {
    const r = await migrationChecksum(await config(), args.ref);
    return { json: { ...r }, text: () => r.checksum };
  },
});

/** Record migrations up to --through as applied without running them. */
export const migrateBaselineCommand = defineCommand({
  name: COMMANDS.migrateBaseline,
  example: "confiture migrate baseline --through 003_add_index",
  changesDatabase: () => true,
  description: "mark migrations up to ID as applied without running them",
  options: {
    through: required("--through <id>", "the last migration to mark"),
  },
  async run({ config, options }) {
    const r = await baseline(await config(), options.through);
    return {
      json: { ...r },
      text: (p) =>
        [
          ...r.baselined.map((id) => `${p.cyan("baseline")} ${id}`),
          `${r.baselined.length} migration(s) marked as applied (baseline); ${r.skipped.length} already recorded.`,
        ].join("\n"),
    };
  },
});

/** Settle a failed no-transaction migration after manual cleanup. */
export const migrateResolveCommand = defineCommand({
  name: COMMANDS.migrateResolve,
  example: "confiture migrate resolve 004_concurrent_index --rolled-back",
  changesDatabase: () => true,
  description: "settle a failed no-transaction migration after manual cleanup",
  arguments: { id: "<id>" },
  options: {
    applied: flag("--applied", "it did complete: record it as applied"),
    rolledBack: flag("--rolled-back", "its changes were undone: remove its history row"),
  },
  async run({ config, args, options }) {
    if (options.applied === options.rolledBack) {
      throw new UsageError("give exactly one of --applied or --rolled-back");
    }
    const r = await resolveFailed(await config(), args.id, options.applied ? "applied" : "rolled-back");
    return {
      json: { ...r },
      text: () =>
        r.resolution === "applied"
          ? `${r.id} recorded as applied.`
          : `${r.id} removed from history; fix the file and run "confiture migrate up".`,
    };
  },
});
