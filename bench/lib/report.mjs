/** Turns raw samples into the markdown summary: medians, spread, ratios, and the targets. */
import { fmtMs, fmtRatio, markdownTable, summarize } from "./measure.mjs";

const stat = (r) => (r && !r.error && r.samples.length ? summarize(r.samples) : undefined);

/**
 * One table: a row per tool with its median, interquartile range and min, the ratio to the floor,
 * and "confiture ÷ this tool" (below 1 means confiture is faster).
 */
function scenarioTable(rows, floorId, subjectId) {
  const floor = stat(rows[floorId]);
  const subject = stat(rows[subjectId]);
  const body = Object.entries(rows).map(([id, r]) => {
    const s = stat(r);
    if (!s)
      return [r.label, r.error ? `n/a: ${r.error.split("\n")[0].slice(0, 90)}` : "n/a", "", "", "", "", ""];
    return [
      id === subjectId ? `**${r.label}**` : r.label,
      `**${fmtMs(s.median)}**`,
      `${fmtMs(s.p25)} – ${fmtMs(s.p75)}`,
      fmtMs(s.min),
      String(s.n),
      floor ? fmtRatio(s.median / floor.median) : "",
      subject && id !== subjectId ? fmtRatio(subject.median / s.median) : "",
    ];
  });
  return markdownTable(["tool", "median", "p25 – p75", "min", "runs", "× floor", "confiture ÷ this"], body);
}

/** Reshape the history scenario ({tool: {status, noopUp}}) into two per-kind row sets. */
function historyRows(history, kind) {
  return Object.fromEntries(
    Object.entries(history).map(([id, r]) => [
      id,
      { label: r.label, samples: r[kind].samples, error: r.error ?? r[kind].error },
    ]),
  );
}

function targetRows(results) {
  const rows = [];
  const { apply, history, startup } = results.scenarios;
  if (apply) {
    const c = stat(apply.confiture);
    const f = stat(apply["psql-floor"]);
    const peers = ["node-pg-migrate", "node-pg-migrate-1tx", "dbmate"].filter((id) => apply[id]);
    if (c && f) {
      const ratio = c.median / f.median;
      rows.push([
        `apply ${results.options.applyCount} ≤ 1.25× psql floor`,
        fmtRatio(ratio),
        ratio <= 1.25 ? "met" : "**missed**",
      ]);
    }
    for (const id of peers) {
      const p = stat(apply[id]);
      if (c && p) {
        rows.push([
          `apply ${results.options.applyCount} faster than ${apply[id].label}`,
          `${fmtMs(c.median)} vs ${fmtMs(p.median)}`,
          c.median < p.median ? "met" : "**missed**",
        ]);
      } else rows.push([`apply faster than ${apply[id].label}`, "peer did not run", "n/a"]);
    }
  }
  if (history?.confiture) {
    const s = stat(historyRows(history, "status").confiture);
    if (s) {
      rows.push([
        `status at ${results.options.historyCount.toLocaleString("en-US")} < 250 ms`,
        fmtMs(s.median),
        results.options.historyCount === 10_000
          ? s.median < 250
            ? "met"
            : "**missed**"
          : "n/a (target is at 10,000)",
      ]);
    }
  }
  if (startup?.confiture) {
    const s = stat(startup.confiture);
    if (s)
      rows.push(["`--version` start-up < 120 ms", fmtMs(s.median), s.median < 120 ? "met" : "**missed**"]);
  }
  return markdownTable(["target", "measured (median)", "result"], rows);
}

/** The whole markdown report for one run. */
export function renderReport(results) {
  const { machine, options, scenarios } = results;
  const parts = [
    `### Run of ${results.date}`,
    "",
    `Machine: ${machine.cpus}× ${machine.cpuModel}, ${machine.memGiB} GiB RAM, ${machine.os}; ` +
      `Node ${machine.node}; PostgreSQL ${machine.postgres} (${options.fast ? "fsync OFF (--fast)" : "fsync on, default durability"}); ` +
      `confiture ${machine.confiture}; node-pg-migrate ${machine.nodePgMigrate ?? "not installed"}; dbmate ${machine.dbmate ?? "not installed"}.`,
    "",
    `1-minute load average: ${Object.entries(results.loadavg ?? {})
      .map(([k, v]) => `${k} ${v[0].toFixed(2)}`)
      .join(", ")} (${machine.cpus} cores; other work on the machine adds noise).`,
    "",
  ];
  if (scenarios.apply) {
    parts.push(
      `#### 1. Apply ${options.applyCount.toLocaleString("en-US")} migrations to an empty database (${options.applyRuns} runs after 1 warm-up, fresh database each)`,
      "",
      scenarioTable(scenarios.apply, "psql-floor", "confiture"),
      "",
    );
  }
  if (scenarios.history) {
    const n = options.historyCount.toLocaleString("en-US");
    const seeds = Object.values(scenarios.history)
      .filter((r) => r.seedMs !== undefined)
      .map((r) => `${r.label} ${(r.seedMs / 1000).toFixed(1)} s`)
      .join(", ");
    parts.push(
      `#### 2a. \`status\` with ${n} applied (${options.historyRuns} runs after 1 warm-up)`,
      "",
      scenarioTable(historyRows(scenarios.history, "status"), "psql-floor", "confiture"),
      "",
      `#### 2b. no-op \`up\` with ${n} applied (${options.historyRuns} runs after 1 warm-up)`,
      "",
      scenarioTable(historyRows(scenarios.history, "noopUp"), "psql-floor", "confiture"),
      "",
      `Seeding ${n} migrations with each tool's own \`up\` (synchronous_commit=off, not a timed result): ${seeds || "n/a"}.`,
      "",
    );
  }
  if (scenarios.startup) {
    parts.push(
      `#### 3. Start-up: \`--version\` as a whole process (${options.startupRuns} runs after 3 warm-ups)`,
      "",
      scenarioTable(scenarios.startup, "node-floor", "confiture"),
      "",
    );
  }
  parts.push("#### Targets", "", targetRows(results), "");
  return parts.join("\n");
}
