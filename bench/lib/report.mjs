/** Turns raw samples into the markdown summary: min / median / max, ratios, CPU, memory, targets. */
import { fmtKiB, fmtMs, fmtRatio, markdownTable, summarize } from "./measure.mjs";

const MIN_RUNS = 5;
const FLOOR_SCRIPT = "node-floor-script";

const ok = (r) => r && !r.error && r.samples.length > 0;
const stat = (r) => (ok(r) ? summarize(r.samples) : undefined);
const fmtCount = (n) => n.toLocaleString("en-US");
/** GNU time reports CPU in steps of 10 ms, so a zero means "under one step". */
const fmtCpu = (ms) => (ms < 10 ? "< 10 ms" : `${Math.round(ms).toLocaleString("en-US")} ms`);

/** `median (min – max)` of a list, formatted; `n/a` when there is nothing. */
function spread(values, fmt) {
  if (!values?.length) return "n/a";
  const s = summarize(values);
  return `${fmt(s.median)} (${fmt(s.min)} – ${fmt(s.max)})`;
}

/**
 * Ratio of medians a ÷ b, plus the spread of the per-round ratios when both were measured in the
 * same rounds (`paired`): `1.05× (per round 1.01× – 1.09×)`.
 */
function ratioText(a, b, { paired }) {
  const sa = stat(a);
  const sb = stat(b);
  if (!sa || !sb) return { ratio: undefined, text: "n/a" };
  const ratio = sa.median / sb.median;
  let text = fmtRatio(ratio);
  if (paired && a.samples.length === b.samples.length && a.samples.length > 1) {
    const per = summarize(a.samples.map((x, i) => x / b.samples[i]));
    text += ` (per round ${fmtRatio(per.min)} – ${fmtRatio(per.max)})`;
  }
  return { ratio, text };
}

/**
 * One table: a row per tool with its min / median / max, the ratio of its median to each floor's
 * median, and "confiture ÷ this tool" (below 1 means confiture is faster). With `resources`, two
 * more columns: client CPU (user + sys) and peak RSS, each as median (min – max).
 */
function scenarioTable(rows, { floors, subjectId = "confiture", resources, resourcesWhy }) {
  const subject = stat(rows[subjectId]);
  const floorStats = floors.map((f) => ({ ...f, s: stat(rows[f.id]) }));
  const headers = [
    "tool",
    "min",
    "median",
    "max",
    "runs",
    ...floorStats.map((f) => `× ${f.label}`),
    "confiture ÷ this",
  ];
  if (resources) headers.push("client CPU (user+sys): median (min – max)", "peak RSS: median (min – max)");
  const body = Object.entries(rows).map(([id, r]) => {
    const s = stat(r);
    const extra = resources
      ? resourcesWhy
        ? [`n/a: ${resourcesWhy}`, "n/a"]
        : [spread(r.cpu, fmtCpu), spread(r.rss, fmtKiB)]
      : [];
    if (!s) {
      const why = r.error ? `n/a: ${r.error.split("\n")[0].slice(0, 90)}` : "n/a";
      return [r.label, "", why, "", "", ...floorStats.map(() => ""), "", ...extra.map(() => "")];
    }
    return [
      id === subjectId ? `**${r.label}**` : r.label,
      fmtMs(s.min),
      `**${fmtMs(s.median)}**`,
      fmtMs(s.max),
      String(s.n),
      ...floorStats.map((f) => (f.s ? fmtRatio(s.median / f.s.median) : "")),
      subject && id !== subjectId ? fmtRatio(subject.median / s.median) : "",
      ...extra,
    ];
  });
  return markdownTable(headers, body);
}

/** Reshape the 10,000 history scenario ({tool: {status, noopUp}}) into per-kind row sets. */
function historyRows(history, kind) {
  return Object.fromEntries(
    Object.entries(history).map(([id, r]) => [
      id,
      { ...r[kind], label: r.label, error: r.error ?? r[kind].error },
    ]),
  );
}

const verdict = (pass) => (pass ? "met" : "**missed**");

function targetRows(results) {
  const rows = [];
  const { apply, history1k, applyOne, history, startup } = results.scenarios;
  const o = results.options;
  if (history1k) {
    const n = fmtCount(o.history1kCount);
    for (const [kind, what] of [
      ["status", "`migrate status`"],
      ["noopUp", "no-op `migrate up`"],
    ]) {
      const r = ratioText(history1k[kind].confiture, history1k[kind][FLOOR_SCRIPT], { paired: true });
      rows.push([
        `${what}, ${n} applied, ≤ 1.15× the Node floor script`,
        r.text,
        r.ratio === undefined ? "n/a" : verdict(r.ratio <= 1.15),
      ]);
    }
    for (const [kind, what] of [
      ["status", "`migrate status`"],
      ["noopUp", "no-op `migrate up`"],
    ]) {
      const peer = history1k[kind]["node-pg-migrate"];
      const c = stat(history1k[kind].confiture);
      const p = stat(peer);
      const label = `${what}, ${n} applied, ≥ 2.5× faster than node-pg-migrate`;
      if (peer?.error === "no status command")
        rows.push([label, "node-pg-migrate has no status command", "n/a"]);
      else if (c && p) {
        rows.push([
          label,
          `${fmtRatio(p.median / c.median)} (${fmtMs(p.median)} vs ${fmtMs(c.median)})`,
          verdict(p.median / c.median >= 2.5),
        ]);
      } else rows.push([label, "did not run", "n/a"]);
    }
  }
  if (applyOne) {
    const r = ratioText(applyOne.confiture, applyOne[FLOOR_SCRIPT], { paired: true });
    rows.push([
      `apply one migration on top of ${fmtCount(o.history1kCount)} ≤ 1.5× the Node floor script`,
      r.text,
      r.ratio === undefined ? "n/a" : verdict(r.ratio <= 1.5),
    ]);
  }
  if (history?.confiture) {
    const s = stat(historyRows(history, "status").confiture);
    if (s) {
      rows.push([
        `\`migrate status\` at ${fmtCount(o.historyCount)} < 250 ms`,
        `${fmtMs(s.median)} (${fmtMs(s.min)} – ${fmtMs(s.max)})`,
        o.historyCount === 10_000 ? verdict(s.median < 250) : "n/a (target is at 10,000)",
      ]);
      const rss = history.confiture.status.rss;
      rows.push([
        `peak memory (RSS) of \`migrate status\` at ${fmtCount(o.historyCount)}`,
        rss?.length ? spread(rss, fmtKiB) : `n/a: ${results.gnuTime?.why ?? "not measured"}`,
        "reported",
      ]);
    }
  }
  if (apply) {
    const n = fmtCount(o.applyCount);
    const r = ratioText(apply.confiture, apply["psql-floor"], { paired: true });
    rows.push([
      `apply ${n} ≤ 1.10× psql floor`,
      r.text,
      r.ratio === undefined ? "n/a" : verdict(r.ratio <= 1.1),
    ]);
    const c = stat(apply.confiture);
    for (const id of ["dbmate", "node-pg-migrate", "node-pg-migrate-1tx"].filter((id) => apply[id])) {
      const p = stat(apply[id]);
      rows.push(
        c && p
          ? [
              `apply ${n} faster than ${apply[id].label}`,
              `${fmtMs(c.median)} vs ${fmtMs(p.median)}`,
              verdict(c.median < p.median),
            ]
          : [`apply ${n} faster than ${apply[id].label}`, "did not run", "n/a"],
      );
    }
    if (c) {
      rows.push([
        `confiture client CPU (user+sys), apply ${n}`,
        apply.confiture.cpu?.length
          ? spread(apply.confiture.cpu, fmtCpu)
          : `n/a: ${results.gnuTime?.why ?? "not measured"}`,
        "reported",
      ]);
    }
  }
  if (startup?.confiture) {
    const s = stat(startup.confiture);
    if (s) rows.push(["`--version` start-up < 120 ms", fmtMs(s.median), verdict(s.median < 120)]);
  }
  return markdownTable(["target", "measured (ratio of medians; per-round range)", "result"], rows);
}

/** Every timed row of every scenario, to warn when any has fewer than MIN_RUNS samples. */
function allRows(scenarios) {
  const { apply, history1k, applyOne, history, startup } = scenarios;
  return [
    ...Object.values(apply ?? {}),
    ...Object.values(history1k?.status ?? {}),
    ...Object.values(history1k?.noopUp ?? {}),
    ...Object.values(applyOne ?? {}),
    ...Object.values(history ? historyRows(history, "status") : {}),
    ...Object.values(history ? historyRows(history, "noopUp") : {}),
    ...Object.values(startup ?? {}),
  ].filter(ok);
}

/** The whole markdown report for one run. */
export function renderReport(results) {
  const { machine, options, scenarios } = results;
  const gnuTimeWhy = results.gnuTime?.ok ? undefined : (results.gnuTime?.why ?? "not measured");
  const parts = [
    `### Run of ${results.date}`,
    "",
    `Machine: ${machine.cpus}× ${machine.cpuModel}, ${machine.memGiB} GiB RAM (${machine.freeMemGiB} GiB free at start), ${machine.os}; ` +
      `Node ${machine.node}; PostgreSQL ${machine.postgres} (${options.fast ? "fsync OFF (--fast)" : "fsync on, default durability"}); ` +
      `confiture ${machine.confiture} (\`node ${machine.confitureBin}\`); node-pg-migrate ${machine.nodePgMigrate ?? "not installed"}; dbmate ${machine.dbmate ?? "not installed"}; ` +
      `client CPU and peak RSS: ${results.gnuTime?.ok ? `${results.gnuTime.version}, \`${results.gnuTime.bin} -o FILE\`` : `n/a (${gnuTimeWhy})`}.`,
    "",
    `1-minute load average: ${Object.entries(results.loadavg ?? {})
      .map(([k, v]) => `${k} ${v[0].toFixed(2)}`)
      .join(", ")} (${machine.cpus} cores; other work on the machine adds noise). Time: ${Object.entries(
      results.seconds ?? {},
    )
      .map(([k, v]) => `${k} ${v} s`)
      .join(", ")}, total ${results.elapsedSeconds ?? "?"} s.`,
    "",
  ];
  const few = allRows(scenarios).filter((r) => r.samples.length < MIN_RUNS);
  if (few.length) {
    parts.push(
      `**Fewer than ${MIN_RUNS} runs** for ${few.length} row(s) (e.g. \`--quick\`): a quick look, not figures to publish.`,
      "",
    );
  }
  const psqlFloor = { id: "psql-floor", label: "psql floor" };
  const nodeFloor = { id: FLOOR_SCRIPT, label: "Node floor" };
  if (scenarios.apply) {
    parts.push(
      `#### 1. Apply ${fmtCount(options.applyCount)} migrations to an empty database (${options.applyRuns} runs after 1 warm-up, fresh database each, interleaved)`,
      "",
      scenarioTable(scenarios.apply, { floors: [psqlFloor], resources: true, resourcesWhy: gnuTimeWhy }),
      "",
    );
  }
  if (scenarios.history1k || scenarios.applyOne) {
    const n = fmtCount(options.history1kCount);
    const runs = `${options.history1kRuns} rounds after 1 warm-up, all commands interleaved in each round`;
    if (scenarios.history1k) {
      parts.push(
        `#### 2a. \`status\` with ${n} applied (${runs})`,
        "",
        scenarioTable(scenarios.history1k.status, { floors: [nodeFloor, psqlFloor] }),
        "",
        `#### 2b. no-op \`up\` with ${n} applied (${runs}; the Node floor row is the same status script as in 2a)`,
        "",
        scenarioTable(scenarios.history1k.noopUp, { floors: [nodeFloor, psqlFloor] }),
        "",
      );
    }
    if (scenarios.applyOne) {
      parts.push(
        `#### 2c. Apply one migration on top of ${n} (${runs}; CHECKPOINT before and undo after each run, untimed; the Node floor row is the status script)`,
        "",
        scenarioTable(scenarios.applyOne, { floors: [nodeFloor, psqlFloor] }),
        "",
      );
    }
    const seeds = Object.entries(results.smallSeedMs ?? {})
      .map(([id, ms]) => `${id} ${(ms / 1000).toFixed(1)} s`)
      .join(", ");
    parts.push(
      `Seeding ${n} migrations with each tool's own \`up\` (synchronous_commit=off, not a timed result): ${seeds || "n/a"}.`,
      "",
    );
  }
  if (scenarios.history) {
    const n = fmtCount(options.historyCount);
    const seeds = Object.values(scenarios.history)
      .filter((r) => r.seedMs !== undefined)
      .map((r) => `${r.label} ${(r.seedMs / 1000).toFixed(1)} s`)
      .join(", ");
    const opts = { floors: [psqlFloor, nodeFloor], resources: true, resourcesWhy: gnuTimeWhy };
    parts.push(
      `#### 3a. \`status\` with ${n} applied (${options.historyRuns} runs after 1 warm-up; one tool at a time, the Node floor script interleaved with confiture)`,
      "",
      scenarioTable(historyRows(scenarios.history, "status"), opts),
      "",
      `#### 3b. no-op \`up\` with ${n} applied (${options.historyRuns} runs after 1 warm-up; the Node floor row is the status script)`,
      "",
      scenarioTable(historyRows(scenarios.history, "noopUp"), opts),
      "",
      `Seeding ${n} migrations with each tool's own \`up\` (synchronous_commit=off, not a timed result): ${seeds || "n/a"}.`,
      "",
    );
  }
  if (scenarios.startup) {
    parts.push(
      `#### 4. Start-up: \`--version\` as a whole process (${options.startupRuns} runs after 3 warm-ups, interleaved)`,
      "",
      scenarioTable(scenarios.startup, { floors: [{ id: "node-floor", label: "floor" }] }),
      "",
    );
  }
  parts.push(
    "#### Targets",
    "",
    "Ratios are of medians measured in this run; the per-round range is each round's confiture ÷ floor (same round, back to back).",
    "",
    targetRows(results),
    "",
  );
  return parts.join("\n");
}
