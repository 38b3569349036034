#!/usr/bin/env node
/**
 * Confiture benchmark: confiture vs a psql floor, a hand-written Node floor script
 * (bench/floor.mjs), node-pg-migrate and dbmate, on one throwaway PostgreSQL cluster (or
 * BENCH_DATABASE_URL). See bench/README.md.
 *
 *   npm run bench                      # the full run (about 8 minutes on 2 idle cores)
 *   npm run bench -- --quick           # fewer runs, for a quick look
 *   npm run bench -- --fast            # fsync=off on the server (for every tool)
 *   npm run bench -- --only apply,history1k,applyone,history,startup
 *   npm run bench -- --tools confiture,node-floor-script,psql-floor,node-pg-migrate,node-pg-migrate-1tx,dbmate
 *   npm run bench -- --apply-runs N --history1k-runs N --history-runs N --startup-runs N
 *                    --apply-count N --history1k-count N --history-count N
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, freemem, loadavg, platform, release, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchLifecycle, benchServer, lapTimer, publishResults, runBench } from "./lib/lifecycle.mjs";
import { probeGnuTime } from "./lib/measure.mjs";
import { renderReport } from "./lib/report.mjs";
import { applyScenario, historyScenario, smallHistoryScenario, startupScenario } from "./lib/scenarios.mjs";
import {
  confiture,
  dbmate,
  nodeFloorScript,
  nodePgMigrate,
  psqlFloor,
  repoDir,
  startupExtras,
} from "./lib/tools.mjs";

const benchDir = dirname(fileURLToPath(import.meta.url));

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    fast: { type: "boolean", default: false },
    only: { type: "string" },
    tools: { type: "string" },
    "apply-runs": { type: "string" },
    "history-runs": { type: "string" },
    "history1k-runs": { type: "string" },
    "startup-runs": { type: "string" },
    "apply-count": { type: "string" },
    "history-count": { type: "string" },
    "history1k-count": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), "utf8").split("*/")[0]);
  process.exit(0);
}

const SCENARIOS = ["apply", "history1k", "applyone", "history", "startup"];
const num = (v, d) => {
  if (v === undefined) return d;
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${v}"`);
  return n;
};
const options = {
  quick: flags.quick,
  fast: flags.fast,
  applyCount: num(flags["apply-count"], 1000),
  applyRuns: num(flags["apply-runs"], flags.quick ? 2 : 5),
  historyCount: num(flags["history-count"], flags.quick ? 2000 : 10_000),
  historyRuns: num(flags["history-runs"], flags.quick ? 5 : 15),
  history1kCount: num(flags["history1k-count"], 1000),
  history1kRuns: num(flags["history1k-runs"], flags.quick ? 5 : 15),
  startupRuns: num(flags["startup-runs"], flags.quick ? 10 : 30),
  scenarios: (flags.only ?? SCENARIOS.join(",")).split(","),
  tools: flags.tools?.split(","),
};
const unknown = options.scenarios.filter((s) => !SCENARIOS.includes(s));
if (unknown.length) {
  process.stderr.write(`unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.join(", ")}\n`);
  process.exit(2);
}

const log = (msg) => process.stderr.write(`${msg}\n`);
const peerVersion = (name) => {
  try {
    return JSON.parse(readFileSync(join(benchDir, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return undefined;
  }
};
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

let server;
let admin;
const { workDir, cleanup } = benchLifecycle("confiture-bench-", log, () => ({ server, admin }));

async function main() {
  const started = Date.now();
  const lap = lapTimer(started);
  ({ server, admin } = await benchServer({ fast: options.fast }, log));

  const all = [
    confiture,
    nodeFloorScript,
    psqlFloor(server.binDir),
    nodePgMigrate({ perMigration: true }),
    nodePgMigrate({ perMigration: false }),
    dbmate(),
  ];
  const unavailable = {};
  const tools = all.filter((t) => {
    if (options.tools && !options.tools.includes(t.id)) return false;
    const a = t.available();
    if (!a.ok) {
      unavailable[t.id] = a.why;
      log(`skipping ${t.label}: ${a.why}`);
    }
    return a.ok;
  });
  // The Node floor script is not a migration tool: it only reads confiture's seeded databases.
  const floorScript = tools.find((t) => t.id === nodeFloorScript.id);
  const migrationTools = tools.filter((t) => t !== floorScript);
  if (floorScript && !migrationTools.some((t) => t.id === "confiture")) {
    log("the Node floor script reads confiture's database: it runs only together with confiture");
  }
  const gnuTime = probeGnuTime(workDir);
  if (!gnuTime.ok) log(`client CPU and peak RSS: n/a (${gnuTime.why})`);

  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model?.trim() ?? "unknown",
    memGiB: Math.round(totalmem() / 2 ** 30),
    freeMemGiB: Math.round(freemem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    postgres: await admin.serverVersion(),
    confitureBin: migrationTools.some((t) => t.id === "confiture")
      ? relative(repoDir, confiture.binPath())
      : "not run",
    confiture: `${JSON.parse(readFileSync(join(repoDir, "package.json"), "utf8")).version} @ ${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "src") ? " (+ uncommitted src changes)" : ""}`,
    nodePgMigrate: peerVersion("node-pg-migrate"),
    dbmate: peerVersion("dbmate"),
  };
  const results = {
    date: new Date().toISOString(),
    machine,
    options,
    serverSettings: server.settings,
    unavailable,
    gnuTime: gnuTime.ok ? { ok: true, bin: gnuTime.bin, version: gnuTime.version } : gnuTime,
    scenarios: {},
    // Other work on the machine shows up here; the 1-minute load should stay near or below the core count.
    loadavg: { start: loadavg() },
    seconds: {},
  };

  results.seconds.setup = lap();
  if (options.scenarios.includes("apply")) {
    log(`\n(1) apply ${options.applyCount} migrations, ${options.applyRuns} runs`);
    results.scenarios.apply = await applyScenario({
      admin,
      tools: migrationTools,
      workDir,
      count: options.applyCount,
      runs: options.applyRuns,
      gnuTime,
    });
    results.loadavg.afterApply = loadavg();
    results.seconds.apply = lap();
  }
  // The two node-pg-migrate variants differ only in how they apply; one is enough from here on.
  const historyTools = migrationTools.filter((t) => t.id !== "node-pg-migrate-1tx");
  const wantSmall = options.scenarios.includes("history1k");
  const wantOne = options.scenarios.includes("applyone");
  if (wantSmall || wantOne) {
    log(
      `\n(2) with ${options.history1kCount} applied: ${[wantSmall && "status / no-op up", wantOne && "apply one more"].filter(Boolean).join(", ")}, ${options.history1kRuns} rounds`,
    );
    const small = await smallHistoryScenario({
      admin,
      tools: historyTools,
      nodeFloor: floorScript,
      workDir,
      count: options.history1kCount,
      runs: options.history1kRuns,
      history: wantSmall,
      applyOne: wantOne,
    });
    results.smallSeedMs = small.seedMs;
    if (wantSmall) results.scenarios.history1k = { status: small.status, noopUp: small.noopUp };
    if (wantOne) results.scenarios.applyOne = small.applyOne;
    results.loadavg.afterHistory1k = loadavg();
    results.seconds["history1k/applyone"] = lap();
  }
  if (options.scenarios.includes("history")) {
    log(`\n(3) status / no-op up with ${options.historyCount} applied, ${options.historyRuns} runs`);
    results.scenarios.history = await historyScenario({
      admin,
      tools: historyTools,
      nodeFloor: floorScript,
      workDir,
      count: options.historyCount,
      runs: options.historyRuns,
      gnuTime,
    });
    results.loadavg.afterHistory = loadavg();
    results.seconds.history = lap();
  }
  if (options.scenarios.includes("startup")) {
    log(`\n(4) start-up, ${options.startupRuns} runs`);
    const entries = [
      ...startupExtras().slice(0, 1),
      ...migrationTools
        .filter((t) => t.version)
        .map((t) => ({ id: t.id, label: `${t.label} --version`, spec: t.version })),
      ...startupExtras().slice(1),
    ].filter((e, i, list) => list.findIndex((x) => x.label === e.label) === i);
    results.scenarios.startup = startupScenario({
      entries: entries.filter((e) => e.id !== "node-pg-migrate-1tx"),
      workDir,
      runs: options.startupRuns,
    });
    results.loadavg.afterStartup = loadavg();
    results.seconds.startup = lap();
  }
  publishResults(results, { prefix: "", render: renderReport, started, log });
}

await runBench(main, cleanup, log);
