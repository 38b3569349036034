#!/usr/bin/env node
/**
 * Schema benchmark: `confiture migrate drift-detect` on a generated 2,000-table schema against
 * `pg_dump --schema-only` of the same database, in the same run; and `confiture migrate
 * sync-history` on 300 migrations. One throwaway PostgreSQL cluster (or BENCH_DATABASE_URL).
 * See bench/README.md, "Schema benchmark".
 *
 *   npm run bench:schema                  # the full run (3–4 minutes on 2 cores)
 *   npm run bench:schema -- --only drift  # or sync
 *   npm run bench:schema -- --fast        # fsync=off on the server
 *   npm run bench:schema -- --runs N --sync-runs N --tables N --per-file N --sync-count N
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, statSync } from "node:fs";
import { cpus, freemem, loadavg, platform, release, totalmem } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { introspectionBreakdown } from "./lib/introspection-breakdown.mjs";
import { benchLifecycle, benchServer, lapTimer, publishResults, runBench } from "./lib/lifecycle.mjs";
import { fmtMs, fmtRatio, markdownTable, summarize, timeCommand } from "./lib/measure.mjs";
import { wideCounts, writeSyncHistory, writeWideSchema } from "./lib/schema-gen.mjs";
import { confiture, repoDir } from "./lib/tools.mjs";

const MIN_RUNS = 5;

const { values: flags } = parseArgs({
  options: {
    fast: { type: "boolean", default: false },
    only: { type: "string" },
    runs: { type: "string" },
    "sync-runs": { type: "string" },
    tables: { type: "string" },
    "per-file": { type: "string" },
    "sync-count": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), "utf8").split("*/")[0]);
  process.exit(0);
}
const SCENARIOS = ["drift", "sync"];
const num = (v, d) => {
  if (v === undefined) return d;
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${v}"`);
  return n;
};
const options = {
  fast: flags.fast,
  runs: num(flags.runs, 5),
  syncRuns: num(flags["sync-runs"], 5),
  tables: num(flags.tables, 2000),
  perFile: num(flags["per-file"], 100),
  syncCount: num(flags["sync-count"], 300),
  scenarios: (flags.only ?? SCENARIOS.join(",")).split(","),
};
const unknown = options.scenarios.filter((s) => !SCENARIOS.includes(s));
if (unknown.length) {
  process.stderr.write(`unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.join(", ")}\n`);
  process.exit(2);
}

const log = (msg) => process.stderr.write(`${msg}\n`);
const fmtCount = (n) => n.toLocaleString("en-US");
const git = (...args) => {
  try {
    return execFileSync("git", args, {
      cwd: repoDir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "";
  }
};
/** Our environment minus anything that could redirect a client's connection (as tools.mjs does). */
function cleanEnv() {
  const env = { ...process.env, NO_COLOR: "1" };
  for (const k of Object.keys(env)) if (/^PG[A-Z]/.test(k) || k.endsWith("DATABASE_URL")) delete env[k];
  return env;
}
const newRow = (label) => ({ label, samples: [] });

/** `migrate <command> --format json`, run and parsed; throws on a non-zero exit or `ok: false`. */
function confitureJson(dir, url, args) {
  const r = timeCommand(confiture.cli(dir, url, ["migrate", ...args, "--format", "json"]));
  const doc = JSON.parse(r.stdout);
  if (doc.ok !== true) throw new Error(`confiture ${args.join(" ")}: ${r.stdout.slice(0, 500)}`);
  return { ms: r.ms, doc };
}

/** How many tables, columns, secondary + primary indexes and foreign keys the bench's tables have. */
async function countObjects(admin, db, namePattern) {
  const r = await admin.query(
    `select
       (select count(*)::int from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname ~ $1) as tables,
       (select count(*)::int from pg_attribute a join pg_class c on c.oid = a.attrelid
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname ~ $1 and a.attnum > 0 and not a.attisdropped) as columns,
       (select count(*)::int from pg_index x join pg_class c on c.oid = x.indrelid
         where c.relnamespace = 'public'::regnamespace and c.relname ~ $1) as indexes,
       (select count(*)::int from pg_constraint k join pg_class c on c.oid = k.conrelid
         where c.relnamespace = 'public'::regnamespace and c.relname ~ $1 and k.contype = 'f') as fks`,
    [namePattern],
    db,
  );
  return r.rows[0];
}

/** Apply a generated project with confiture's own `up` (synchronous_commit=off while seeding only). */
async function seed(admin, dir, db) {
  const url = await admin.create(db, { settings: { synchronous_commit: "off" } });
  const r = timeCommand(confiture.cli(dir, url, ["migrate", "up"]));
  await admin.resetSettings(db);
  await admin.query("VACUUM ANALYZE", [], db);
  await admin.checkpoint();
  return { url, seedMs: r.ms };
}

/**
 * (1) drift-detect against pg_dump --schema-only. One untimed warm-up of each (the dump's output
 * checked), then `runs` rounds; each round runs both, the order alternating, a CHECKPOINT before
 * each command (untimed) so that the replay's WAL is not flushed inside the next timed run.
 */
async function driftScenario({ admin, server, workDir }) {
  const dir = join(workDir, "drift");
  const files = writeWideSchema(dir, { tables: options.tables, perFile: options.perFile });
  const db = "bench_schema_drift";
  const expect = wideCounts(options.tables);
  log(`  seeding ${fmtCount(options.tables)} tables in ${files} migrations with confiture migrate up ...`);
  const { url, seedMs } = await seed(admin, dir, db);
  const found = await countObjects(admin, db, "^t_[0-9]+$");
  for (const k of Object.keys(expect)) {
    if (found[k] !== expect[k]) throw new Error(`after seeding: ${found[k]} ${k}, expected ${expect[k]}`);
  }
  log(`  seeded in ${(seedMs / 1000).toFixed(1)} s: ${JSON.stringify(found)}`);

  const pgDump = server.binDir ? join(server.binDir, "pg_dump") : "pg_dump";
  const dumpSpec = (file) => ({
    cmd: pgDump,
    args: ["--schema-only", "--no-password", "-f", file, "-d", url],
    cwd: dir,
    env: cleanEnv(),
  });
  const pgDumpVersion = execFileSync(pgDump, ["--version"], { encoding: "utf8" }).trim();

  // Warm-up, untimed: the dump must hold every table, index and foreign key.
  const dumpFile = join(workDir, "schema.sql");
  timeCommand(dumpSpec(dumpFile));
  const dump = readFileSync(dumpFile, "utf8");
  const dumpCounts = {
    tables: (dump.match(/^CREATE TABLE public\.t_\d+ /gm) ?? []).length,
    indexes: (dump.match(/^CREATE INDEX t_\d+_/gm) ?? []).length,
    fks: (dump.match(/FOREIGN KEY \(parent_id\)/g) ?? []).length,
  };
  if (
    dumpCounts.tables !== expect.tables ||
    dumpCounts.indexes !== 2 * expect.tables ||
    dumpCounts.fks !== expect.fks
  ) {
    throw new Error(`pg_dump output holds ${JSON.stringify(dumpCounts)}; expected ${JSON.stringify(expect)}`);
  }
  const dumpBytes = statSync(dumpFile).size;
  rmSync(dumpFile);

  const rows = {
    pgDump: newRow("`pg_dump --schema-only` (whole process)"),
    target: newRow("drift-detect: introspection + diff (`introspectMs + diffMs`)"),
    introspect: newRow("  of which introspection of both schemas (`introspectMs`)"),
    diff: newRow("  of which diff (`diffMs`)"),
    replay: newRow("drift-detect: replay into the scratch database (`replayMs`, not in the target)"),
    total: newRow("drift-detect: `totalMs` (its own total)"),
    wall: newRow("drift-detect: the whole command (wall time)"),
  };
  const drift = () => {
    const { ms, doc } = confitureJson(dir, url, ["drift-detect"]);
    if (doc.drift !== false || doc.differences.length !== 0) {
      throw new Error(
        `drift-detect reported drift on an untouched schema: ${doc.differences.length} difference(s)`,
      );
    }
    if (!doc.expectedSource.startsWith(`${files} applied migration(s)`)) {
      throw new Error(`drift-detect replayed "${doc.expectedSource}", expected ${files} applied migrations`);
    }
    return { ms, timings: doc.timings };
  };
  log("  warm-up: drift-detect");
  const warm = drift();
  log(`  warm-up drift-detect: ${warm.ms.toFixed(0)} ms, ${JSON.stringify(warm.timings)}`);

  for (let round = 0; round < options.runs; round++) {
    const steps = [
      async () => {
        await admin.checkpoint();
        const r = timeCommand(dumpSpec("/dev/null"));
        rows.pgDump.samples.push(r.ms);
        return `pg_dump ${r.ms.toFixed(0)} ms`;
      },
      async () => {
        await admin.checkpoint();
        const { ms, timings: t } = drift();
        rows.target.samples.push(t.introspectMs + t.diffMs);
        rows.introspect.samples.push(t.introspectMs);
        rows.diff.samples.push(t.diffMs);
        rows.replay.samples.push(t.replayMs);
        rows.total.samples.push(t.totalMs);
        rows.wall.samples.push(ms);
        return `drift-detect ${ms.toFixed(0)} ms (introspect ${t.introspectMs} + diff ${t.diffMs}, replay ${t.replayMs})`;
      },
    ];
    if (round % 2 === 1) steps.reverse();
    const said = [];
    for (const step of steps) said.push(await step());
    log(`  round ${round + 1}/${options.runs}: ${said.join(", ")}`);
  }
  log("  introspection of the live schema alone, query by query ...");
  await admin.checkpoint();
  // What confiture leaves out of the model: its history tables (default names).
  const own = { names: ["confiture_migrations", "confiture_events"], backupsOf: "confiture_migrations" };
  const breakdown = await introspectionBreakdown({ url, own, runs: options.runs, workDir });
  for (const q of breakdown.queries) {
    log(
      `    ${q.label}: ${q.clientMedian.toFixed(0)} ms, unparsed ${q.rawMedian.toFixed(0)} ms, ${q.rows} rows`,
    );
  }
  await admin.drop(db);
  rmSync(dir, { recursive: true, force: true });
  return { files, seedMs, objects: found, dumpBytes, pgDumpVersion, warmup: warm, rows, breakdown };
}

/**
 * (2) sync-history on `syncCount` migrations: seeded with `up`, then before every run (untimed)
 * the tracking table is emptied and a CHECKPOINT taken; one warm-up run, then `syncRuns` runs.
 * Every run must find the exact match through the last migration and record all of them.
 */
async function syncScenario({ admin, workDir }) {
  const dir = join(workDir, "sync");
  const count = options.syncCount;
  writeSyncHistory(dir, count);
  const db = "bench_schema_sync";
  log(`  seeding ${count} migrations with confiture migrate up ...`);
  const { url, seedMs } = await seed(admin, dir, db);
  const found = await countObjects(admin, db, "^s_[0-9]+$");
  log(`  seeded in ${(seedMs / 1000).toFixed(1)} s: ${JSON.stringify(found)}`);
  const rows = {
    wall: newRow("sync-history: the whole command (wall time)"),
    total: newRow("sync-history: `totalMs` (its own total)"),
    replay: newRow("  of which replay, one migration at a time (`replayMs`)"),
    introspect: newRow(`  of which ${fmtCount(count + 2)} introspections (\`introspectMs\`)`),
    rest: newRow("  of which the rest (`totalMs - replayMs - introspectMs`)"),
  };
  for (let run = -1; run < options.syncRuns; run++) {
    await admin.query("TRUNCATE public.confiture_migrations", [], db);
    await admin.checkpoint();
    const { ms, doc } = confitureJson(dir, url, ["sync-history"]);
    if (doc.match !== "exact" || doc.recorded.length !== count) {
      throw new Error(
        `sync-history: match ${doc.match}, recorded ${doc.recorded.length}; expected exact, ${count}`,
      );
    }
    const n = await admin.query(
      "select count(*)::int as n from public.confiture_migrations where status = 'reconstructed'",
      [],
      db,
    );
    if (n.rows[0].n !== count)
      throw new Error(`sync-history left ${n.rows[0].n} reconstructed rows, expected ${count}`);
    const t = doc.timings;
    log(
      `  sync-history [${run < 0 ? "warm-up" : `${run + 1}/${options.syncRuns}`}]: ${ms.toFixed(0)} ms, ${JSON.stringify(t)}`,
    );
    if (run < 0) continue;
    rows.wall.samples.push(ms);
    rows.total.samples.push(t.totalMs);
    rows.replay.samples.push(t.replayMs);
    rows.introspect.samples.push(t.introspectMs);
    rows.rest.samples.push(t.totalMs - t.replayMs - t.introspectMs);
  }
  await admin.drop(db);
  rmSync(dir, { recursive: true, force: true });
  return { count, seedMs, objects: found, rows };
}

/** min / median / max / runs per row, and each median against the `base` row's median. */
function table(rows, { base, baseLabel }) {
  const b = base ? summarize(base.samples) : undefined;
  const headers = ["measure", "min", "median", "max", "runs", ...(b ? [`× ${baseLabel}`] : [])];
  const body = Object.values(rows).map((r) => {
    const s = summarize(r.samples);
    const label = r.label.startsWith("  ") ? `&nbsp;&nbsp;${r.label.trim()}` : r.label;
    return [
      label,
      fmtMs(s.min),
      `**${fmtMs(s.median)}**`,
      fmtMs(s.max),
      String(s.n),
      ...(b ? [fmtRatio(s.median / b.median)] : []),
    ];
  });
  return markdownTable(headers, body);
}

/** The per-query table of the introspection breakdown, and the one-side / diff totals. */
function breakdownText(b, dumpMedian) {
  const whole = summarize(b.whole);
  const diff = summarize(b.diff);
  const spreadOf = (xs) => {
    const s = summarize(xs);
    return `${fmtMs(s.median)} (${fmtMs(s.min)} – ${fmtMs(s.max)})`;
  };
  const body = b.queries.map((q) => [
    q.label,
    fmtCount(q.rows),
    `${(q.bytes / 2 ** 20).toFixed(2)} MiB`,
    spreadOf(q.client),
    spreadOf(q.raw),
    fmtMs(Math.max(0, q.clientMedian - q.rawMedian)),
    `${Math.round((100 * q.clientMedian) / whole.median)}%`,
  ]);
  body.push([
    "**one whole read (`introspectSchema`, one side)**",
    "",
    "",
    `**${spreadOf(b.whole)}**`,
    "",
    "",
    "100%",
  ]);
  body.push(["`diffSchemas` of two reads (in-process)", "", "", spreadOf(b.diff), "", "", ""]);
  const estimate = 2 * whole.median + diff.median;
  return [
    `Where the time goes: the live schema read alone (no replay running), ${b.runs} reads after 1 warm-up, each query timed ` +
      "from send to parsed rows through node-postgres as confiture runs it, then again with every value left as the text the server sent " +
      "(no JSON or type parsing: the server's work plus the transfer); the difference is the parsing in Node. " +
      "The introspection code is src/catalog/ bundled by the bench, unchanged; the result size is the text the server sent.",
    "",
    markdownTable(
      [
        "query",
        "rows",
        "result (text sent)",
        "as confiture runs it: median (min – max)",
        "unparsed (server + transfer): median (min – max)",
        "parsing in Node (difference of medians; 0 when within noise)",
        "share of a read",
      ],
      body,
    ),
    "",
    `Two uncontended reads + diff: 2 × ${fmtMs(whole.median)} + ${fmtMs(diff.median)} = ${fmtMs(estimate)}, ` +
      `${fmtRatio(estimate / dumpMedian)} pg_dump's median.`,
  ];
}

function render(results) {
  const { machine, options: o, drift, sync } = results;
  const parts = [
    `#### Run of ${results.date}`,
    "",
    `Machine: ${machine.cpus}× ${machine.cpuModel}, ${machine.memGiB} GiB RAM (${machine.freeMemGiB} GiB free at start), ${machine.os}; ` +
      `Node ${machine.node}; PostgreSQL ${machine.postgres} (${o.fast ? "fsync OFF (--fast)" : "fsync on, default durability"}); ` +
      `confiture ${machine.confiture} (\`node ${machine.confitureBin}\`)${drift ? `; ${drift.pgDumpVersion}` : ""}.`,
    "",
    `1-minute load average: ${Object.entries(results.loadavg)
      .map(([k, v]) => `${k} ${v[0].toFixed(2)}`)
      .join(", ")} (${machine.cpus} cores). Time: ${Object.entries(results.seconds)
      .map(([k, v]) => `${k} ${v} s`)
      .join(", ")}, total ${results.elapsedSeconds} s.`,
    "",
  ];
  const targets = [];
  if (o.runs < MIN_RUNS || o.syncRuns < MIN_RUNS) {
    parts.push(`**Fewer than ${MIN_RUNS} runs**: a quick look, not figures to publish.`, "");
  }
  if (drift) {
    const c = drift.objects;
    parts.push(
      `##### drift-detect on ${fmtCount(c.tables)} tables against \`pg_dump --schema-only\` (${o.runs} rounds after 1 warm-up, both commands in each round, order alternating)`,
      "",
      `Schema: ${fmtCount(c.tables)} tables, ${fmtCount(c.columns)} columns, ${fmtCount(c.indexes)} indexes (primary keys included), ${fmtCount(c.fks)} foreign keys, ` +
        `in ${drift.files} migrations (seeded with \`migrate up\` in ${(drift.seedMs / 1000).toFixed(1)} s, synchronous_commit=off, not a timed result). ` +
        `The dump is ${(drift.dumpBytes / 2 ** 20).toFixed(1)} MiB of SQL.`,
      "",
      table(drift.rows, { base: drift.rows.pgDump, baseLabel: "pg_dump" }),
      "",
    );
    const t = drift.rows.target.samples;
    const d = drift.rows.pgDump.samples;
    const per = summarize(t.map((x, i) => x / d[i]));
    const ratio = summarize(t).median / summarize(d).median;
    parts.push(
      `Target: drift-detect's introspection + diff faster than \`pg_dump --schema-only\`: ` +
        `${fmtMs(summarize(t).median)} vs ${fmtMs(summarize(d).median)} (medians), ${fmtRatio(ratio)} ` +
        `(per round ${fmtRatio(per.min)} – ${fmtRatio(per.max)}): **${ratio < 1 ? "met" : "missed"}**.`,
      "",
    );
    if (drift.breakdown) parts.push(...breakdownText(drift.breakdown, summarize(d).median), "");
    targets.push([
      `drift-detect on ${fmtCount(drift.objects.tables)} tables: introspection + diff faster than \`pg_dump --schema-only\``,
      `${fmtMs(summarize(t).median)} vs ${fmtMs(summarize(d).median)}: ${fmtRatio(ratio)} (per round ${fmtRatio(per.min)} – ${fmtRatio(per.max)})`,
      ratio < 1 ? "met" : "**missed**",
    ]);
  }
  if (sync) {
    parts.push(
      `##### sync-history on ${fmtCount(sync.count)} migrations (${o.syncRuns} runs after 1 warm-up; tracking table truncated before each, untimed)`,
      "",
      `Schema: ${fmtCount(sync.objects.tables)} tables, ${fmtCount(sync.objects.columns)} columns, ${fmtCount(sync.objects.indexes)} indexes ` +
        `(seeded with \`migrate up\` in ${(sync.seedMs / 1000).toFixed(1)} s, not a timed result). Every run found the exact match ` +
        `through the last migration and recorded all ${fmtCount(sync.count)}.`,
      "",
      table(sync.rows, {}),
      "",
    );
    const w = summarize(sync.rows.wall.samples);
    targets.push([
      `sync-history on ${fmtCount(sync.count)} migrations`,
      `${fmtMs(w.median)} (${fmtMs(w.min)} – ${fmtMs(w.max)}), wall time of the command`,
      "reported",
    ]);
  }
  parts.push(
    "##### Targets",
    "",
    markdownTable(["target", "measured (medians; per-round range)", "result"], targets),
  );
  return parts.join("\n");
}

let server;
let admin;
const { workDir, cleanup } = benchLifecycle("confiture-bench-schema-", log, () => ({ server, admin }));

async function main() {
  const started = Date.now();
  const lap = lapTimer(started);
  const available = confiture.available();
  if (!available.ok) throw new Error(available.why);
  ({ server, admin } = await benchServer({ fast: options.fast }, log));
  const results = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model?.trim() ?? "unknown",
      memGiB: Math.round(totalmem() / 2 ** 30),
      freeMemGiB: Math.round(freemem() / 2 ** 30),
      os: `${platform()} ${release()}`,
      node: process.version,
      postgres: await admin.serverVersion(),
      confitureBin: relative(repoDir, confiture.binPath()),
      confiture: `${JSON.parse(readFileSync(join(repoDir, "package.json"), "utf8")).version} @ ${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "src") ? " (+ uncommitted src changes)" : ""}`,
    },
    options,
    serverSettings: server.settings,
    loadavg: { start: loadavg() },
    seconds: { setup: lap() },
  };
  if (options.scenarios.includes("drift")) {
    log(
      `\n(1) drift-detect on ${fmtCount(options.tables)} tables vs pg_dump --schema-only, ${options.runs} rounds`,
    );
    results.drift = await driftScenario({ admin, server, workDir });
    results.loadavg.afterDrift = loadavg();
    results.seconds.drift = lap();
  }
  if (options.scenarios.includes("sync")) {
    log(`\n(2) sync-history on ${options.syncCount} migrations, ${options.syncRuns} runs`);
    results.sync = await syncScenario({ admin, workDir });
    results.loadavg.afterSync = loadavg();
    results.seconds.sync = lap();
  }
  publishResults(results, { prefix: "schema-", render: render, started, log });
}

await runBench(main, cleanup, log);
