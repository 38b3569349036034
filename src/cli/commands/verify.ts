/** `confiture verify [--deep] [--fix] [--force] [--scratch-url URL]`. */
import { COMMANDS, type Verdict, type VerifyFix, type VerifyItem, verify } from "../../index.js";
import type { Paint } from "../output.js";
import { confirmOnTty } from "../prompt.js";
import { defineCommand, flag, value } from "../spec.js";

/**
 * The runbook's post-recovery checklist; the library's report makes it exit 3 when an item fails
 * or the checklist is incomplete (the expected schema could not be built).
 */
export const verifyCommand = defineCommand({
  name: COMMANDS.verify,
  example:
    "confiture verify\nconfiture verify --deep --format json\nconfiture --env production verify --fix --force",
  changesDatabase: (o) => o.fix,
  description:
    "the post-recovery checklist: tables, indexes (valid), constraints, foreign keys, sequences, history, drift, smoke tests, statistics; each PASS / FAIL / SKIP with evidence (exit 3 on FAIL, or when the expected schema could not be built)",
  options: {
    deep: flag("--deep", "also count orphan rows per foreign key (reads whole tables)"),
    fix: flag(
      "--fix",
      "apply the safe repairs (setval, ANALYZE, REINDEX of invalid indexes) and report each",
    ),
    force: flag("--force", "skip the confirmation --fix needs on protected environments"),
    scratchUrl: value(
      "--scratch-url <url>",
      "an empty database to build the expected schema in (default: a scratch database created and dropped on the same server); one that cannot be used is an error",
    ),
  },
  async run({ config, options, out }) {
    const cfg = await config();
    const r = await verify(cfg, {
      deep: options.deep,
      fix: options.fix,
      force: options.force,
      confirm: confirmOnTty(cfg.environment ?? ""),
      scratchUrl: options.scratchUrl,
      onProgress: (m) => out.progress(m),
    });
    return {
      json: { ...r },
      report: r.report,
      text: (p) => verifyText(p, r.items, r.fixes, options.fix, r.incomplete),
    };
  },
});

const NAME_WIDTH = Math.max(..."foreign keys|smoke tests|constraints".split("|").map((n) => n.length));

/**
 * `PASS  tables        12 expected table(s) present`, evidence indented below a FAIL or SKIP,
 * then the repairs, then `verify: 7 passed, 1 failed, 1 skipped` (followed by
 * `: incomplete, the expected schema could not be built`, after a line saying what was not checked).
 */
function verifyText(
  p: Paint,
  items: VerifyItem[],
  fixes: VerifyFix[],
  fix: boolean,
  incomplete: string | null,
): string {
  const lines: string[] = [];
  for (const i of items) {
    const [head = "", ...rest] = i.evidence;
    lines.push(`${paintVerdict(p, i.verdict)}  ${i.name.padEnd(NAME_WIDTH)}  ${head}`);
    if (i.verdict !== "PASS")
      for (const e of rest) lines.push(`      ${" ".repeat(NAME_WIDTH)}  ${p.dim(e)}`);
  }
  if (fix && fixes.length === 0)
    lines.push(
      "",
      "Repairs (--fix): none applies (no sequence behind its column, invalid index or table without statistics); nothing was changed.",
    );
  if (fixes.length > 0) {
    lines.push("", "Repairs (--fix):");
    for (const f of fixes) {
      const state = f.ok ? p.green("fixed ") : p.red("failed");
      lines.push(`  ${state}  ${f.item.padEnd(NAME_WIDTH)}  ${f.subject}: ${f.message}`);
    }
  }
  if (incomplete !== null) lines.push("", `${p.red("Incomplete:")} ${incomplete}`);
  const count = (v: Verdict) => items.filter((i) => i.verdict === v).length;
  lines.push(
    "",
    `verify: ${count("PASS")} passed, ${count("FAIL")} failed, ${count("SKIP")} skipped` +
      (incomplete === null ? "" : ": incomplete, the expected schema could not be built"),
  );
  return lines.join("\n");
}

function paintVerdict(p: Paint, v: Verdict): string {
  if (v === "PASS") return p.green(v);
  if (v === "FAIL") return p.red(v);
  return p.yellow(v);
}
