/** `confiture backup verify [FILE|--latest] [--keep] [--jobs N] [--scratch-url URL]`. */
import {
  type BackupCheck,
  type BackupCheckVerdict,
  type BackupVerifyResult,
  COMMANDS,
  UsageError,
  verifyBackup,
} from "../../index.js";
import type { Paint } from "../output.js";
import { defineCommand, flag, value } from "../spec.js";

/**
 * The runbook's weekly restore test; the library's report makes it exit 3 when a check fails.
 */
export const backupVerifyCommand = defineCommand({
  name: COMMANDS.backupVerify,
  example:
    "confiture backup verify --latest\n" +
    "confiture backup verify backups/app_20261125T013000Z.dump --jobs 4 --format json\n" +
    "confiture backup verify --latest --keep",
  description:
    "the weekly restore test: check the dump's SHA-256, restore it into a scratch database, check history, schema fingerprint and row counts against its metadata, record the restore time (exit 3 when a check fails)",
  arguments: { file: "[file]" },
  options: {
    latest: flag("--latest", "verify the newest backup in backup.dir"),
    keep: flag("--keep", "keep the scratch database afterwards (its name is printed) instead of dropping it"),
    jobs: value("--jobs <n>", "pg_restore parallel jobs (default 1); use what a real restore would"),
    scratchUrl: value(
      "--scratch-url <url>",
      "an empty database to restore into (default: a scratch database created and dropped on the configured server); emptied again afterwards",
    ),
  },
  async run({ out, config, options, args }) {
    const r = await verifyBackup(await config(), {
      file: args.file,
      latest: options.latest,
      keep: options.keep,
      jobs: wholeNumber(options.jobs, "--jobs"),
      scratchUrl: options.scratchUrl,
      onProgress: (m) => out.progress(m),
    });
    const { report: _report, ...json } = r;
    return { json, report: r.report, text: (p) => verifyText(p, r) };
  },
});

function wholeNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`${option} must be a whole number of at least 1, got "${text}"`);
  return Number(text);
}

const NAME_WIDTH = "fingerprint".length;

/**
 * `PASS  sha256       3f2a... equals the metadata`, evidence indented below a FAIL or SKIP,
 * then the restore time, the scratch database's fate, notes, and the summary line.
 */
function verifyText(p: Paint, r: BackupVerifyResult): string {
  const lines = [`Backup ${r.file}`, ""];
  for (const c of r.checks) {
    const [head = "", ...rest] = c.evidence;
    lines.push(`${paint(p, c.verdict)}  ${c.name.padEnd(NAME_WIDTH)}  ${head}`);
    if (c.verdict !== "PASS")
      for (const e of rest) lines.push(`      ${" ".repeat(NAME_WIDTH)}  ${p.dim(e)}`);
    else for (const e of rest) lines.push(`      ${" ".repeat(NAME_WIDTH)}  ${e}`);
  }
  lines.push("");
  const restore = r.checks.find((c) => c.name === "restore");
  if (r.restoreMs !== null && restore?.verdict === "PASS")
    lines.push(`restore took ${seconds(r.restoreMs)}: your RTO for this database is at least that`);
  else if (r.restoreMs !== null) lines.push(`restore failed after ${seconds(r.restoreMs)}`);
  // A kept one is named by its note, with how to remove it.
  if (r.scratchDatabase !== null && !r.kept) lines.push(`scratch database ${r.scratchDatabase} dropped`);
  lines.push(...r.notes);
  const count = (v: BackupCheckVerdict) => r.checks.filter((c: BackupCheck) => c.verdict === v).length;
  lines.push(
    "",
    `backup verify: ${count("PASS")} passed, ${count("FAIL")} failed, ${count("SKIP")} skipped` +
      (count("FAIL") === 0 ? ": the backup restores and matches its metadata" : ""),
  );
  return lines.join("\n");
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function paint(p: Paint, v: BackupCheckVerdict): string {
  if (v === "PASS") return p.green(v);
  if (v === "FAIL") return p.red(v);
  return p.yellow(v);
}
