#!/usr/bin/env node
/**
 * Backup benchmark: `confiture backup create` (exact row counts, and `--fast`) against bare
 * `pg_dump -Fc -Z <same>` of the same database, and `confiture backup verify --latest` against
 * bare `createdb` + `pg_restore` + `dropdb` of the same dump, in the same run, on a generated
 * database of at least 1 GiB; peak RSS of `backup create` at two database sizes. One throwaway
 * PostgreSQL cluster (or BENCH_DATABASE_URL). See bench/README.md, "Backup benchmark".
 *
 *   npm run bench:backup                      # the full run (about 6 minutes on 2 cores)
 *   npm run bench:backup -- --fast            # fsync=off on the server
 *   npm run bench:backup -- --rounds N --verify-rounds N --size-gib X --small-gib Y --compress Z
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, freemem, loadavg, platform, release, totalmem } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { growTo, writeBackupProject } from "./lib/backup-gen.mjs";
import { benchLifecycle, benchServer, lapTimer, publishResults, runBench } from "./lib/lifecycle.mjs";
import {
  fmtKiB,
  fmtMs,
  fmtRatio,
  markdownTable,
  probeGnuTime,
  summarize,
  timeCommand,
} from "./lib/measure.mjs";
import { confiture, repoDir } from "./lib/tools.mjs";

const MIN_RUNS = 5;

const { values: flags } = parseArgs({
  options: {
    fast: { type: "boolean", default: false },
    rounds: { type: "string" },
    "verify-rounds": { type: "string" },
    "size-gib": { type: "string" },
    "small-gib": { type: "string" },
    compress: { type: "string" },
    batch: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), "utf8").split("*/")[0]);
  process.exit(0);
}
const int = (v, d, min = 1) => {
  if (v === undefined) return d;
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < min) throw new Error(`expected an integer >= ${min}, got "${v}"`);
  return n;
};
const real = (v, d) => {
  if (v === undefined) return d;
  const n = Number.parseFloat(v);
  if (!(n > 0)) throw new Error(`expected a positive number, got "${v}"`);
  return n;
};
const options = {
  fast: flags.fast,
  rounds: int(flags.rounds, 5),
  verifyRounds: int(flags["verify-rounds"], 5),
  sizeGiB: real(flags["size-gib"], 1),
  smallGiB: real(flags["small-gib"], 0.5),
  compress: int(flags.compress, 0, 0),
  batch: int(flags.batch, 1_000_000),
};

const log = (msg) => process.stderr.write(`${msg}\n`);
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
const gib = (bytes) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const newRow = (label) => ({ label, samples: [], rss: [] });
/** Empty backup.dir (the bench's own files only: the project is ours). */
const clearDir = (dir) => {
  for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
};

/** Everything one run needs: the project, the database, the commands. */
function commands({ server, admin, dir, backupDir, db, url }) {
  const bin = (name) => (server.binDir ? join(server.binDir, name) : name);
  const env = cleanEnv();
  const dumpFile = join(backupDir, "bare.dump");
  return {
    dumpFile,
    pgDump: () => ({
      cmd: bin("pg_dump"),
      args: ["-Fc", `-Z${options.compress}`, "--no-password", "-f", dumpFile, "-d", url],
      cwd: dir,
      env,
    }),
    create: (fast) =>
      confiture.cli(dir, url, ["backup", "create", ...(fast ? ["--fast"] : []), "--format", "json"]),
    verify: () => confiture.cli(dir, url, ["backup", "verify", "--latest", "--format", "json"]),
    createdb: (name) => ({
      cmd: bin("createdb"),
      args: ["--maintenance-db", admin.adminUrl, "-T", "template0", name],
      cwd: dir,
      env,
    }),
    restore: (name, file) => ({
      cmd: bin("pg_restore"),
      args: ["--no-owner", "--no-privileges", "--exit-on-error", "-d", admin.urlFor(name), file],
      cwd: dir,
      env,
    }),
    dropdb: (name) => ({
      cmd: bin("dropdb"),
      args: ["--maintenance-db", admin.adminUrl, name],
      cwd: dir,
      env,
    }),
    db,
  };
}

/** `backup create --format json`, run (under GNU time) and checked. */
function runCreate(c, fast, gnuTime) {
  const r = timeCommand(c.create(fast), { gnuTime });
  const doc = JSON.parse(r.stdout);
  if (doc.ok !== true) throw new Error(`backup create: ${r.stdout.slice(0, 500)}`);
  return { ...r, doc };
}

/** Peak RSS and time of `backup create` (exact counts) at the current size: `runs` runs after 1 warm-up. */
async function memoryProbe(admin, c, backupDir, gnuTime, runs) {
  const rss = [];
  const ms = [];
  for (let i = -1; i < runs; i++) {
    await admin.checkpoint();
    const r = runCreate(c, false, gnuTime);
    clearDir(backupDir);
    if (i < 0) continue;
    rss.push(r.rssKiB);
    ms.push(r.ms);
    log(`    backup create: ${fmtMs(r.ms)}, peak RSS ${fmtKiB(r.rssKiB)}`);
  }
  return { rss, ms };
}

/**
 * Create scenario: one untimed warm-up of each, then `rounds` rounds of pg_dump, create and
 * create --fast, the order rotated by one per round, a CHECKPOINT (untimed) before each command.
 * The last exact backup is kept for the verify scenario.
 */
async function createScenario(admin, c, backupDir, gnuTime) {
  const rows = {
    pgDump: newRow(`bare \`pg_dump -Fc -Z${options.compress}\``),
    create: newRow("`confiture backup create` (exact row counts)"),
    fast: newRow("`confiture backup create --fast` (estimated row counts)"),
  };
  const steps = {
    pgDump: () => timeCommand(c.pgDump(), { gnuTime }),
    create: () => runCreate(c, false, gnuTime),
    fast: () => runCreate(c, true, gnuTime),
  };
  const order = ["pgDump", "create", "fast"];
  for (let round = -1; round < options.rounds; round++) {
    const k = ((round % 3) + 3) % 3;
    const turn = [...order.slice(k), ...order.slice(0, k)];
    const said = [];
    for (const key of turn) {
      clearDir(backupDir);
      await admin.checkpoint();
      const r = steps[key]();
      if (round >= 0) {
        rows[key].samples.push(r.ms);
        rows[key].rss.push(r.rssKiB);
      }
      said.push(`${key} ${fmtMs(r.ms)}`);
    }
    log(`  ${round < 0 ? "warm-up" : `round ${round + 1}/${options.rounds}`}: ${said.join(", ")}`);
  }
  // Leave exactly one exact-count confiture backup for verify.
  clearDir(backupDir);
  await admin.checkpoint();
  const kept = runCreate(c, false, gnuTime).doc;
  return { rows, sizeBytes: kept.sizeBytes, kept };
}

/**
 * Verify scenario: `rounds` rounds of `backup verify --latest` and the bare restore test of the
 * same dump (createdb + pg_restore + dropdb, each timed, summed), order alternating, a
 * CHECKPOINT before each. No warm-up round: the dump is already in the page cache from create.
 */
async function verifyScenario(admin, c, kept, gnuTime) {
  const rows = {
    bare: newRow("bare `createdb` + `pg_restore` + `dropdb` (sum)"),
    bareRestore: newRow("&nbsp;&nbsp;of which `pg_restore`"),
    verify: newRow("`confiture backup verify --latest` (whole command)"),
    restoreMs: newRow("&nbsp;&nbsp;of which restore (`restoreMs`, the RTO figure)"),
  };
  const bare = () => {
    const name = `bench_backup_bare_restore`;
    const a = timeCommand(c.createdb(name));
    const b = timeCommand(c.restore(name, kept.path), { gnuTime });
    const d = timeCommand(c.dropdb(name));
    rows.bare.samples.push(a.ms + b.ms + d.ms);
    rows.bareRestore.samples.push(b.ms);
    rows.bare.rss.push(b.rssKiB);
    return `bare ${fmtMs(a.ms + b.ms + d.ms)} (pg_restore ${fmtMs(b.ms)})`;
  };
  const verify = () => {
    const r = timeCommand(c.verify(), { gnuTime });
    const doc = JSON.parse(r.stdout);
    if (doc.ok !== true) throw new Error(`backup verify: ${r.stdout.slice(0, 800)}`);
    rows.verify.samples.push(r.ms);
    rows.verify.rss.push(r.rssKiB);
    rows.restoreMs.samples.push(doc.restoreMs);
    return `verify ${fmtMs(r.ms)} (restore ${fmtMs(doc.restoreMs)})`;
  };
  for (let round = 0; round < options.verifyRounds; round++) {
    const steps = round % 2 === 0 ? [verify, bare] : [bare, verify];
    const said = [];
    for (const step of steps) {
      await admin.checkpoint();
      said.push(step());
    }
    log(`  round ${round + 1}/${options.verifyRounds}: ${said.join(", ")}`);
  }
  return { rows };
}

function table(rows, base, baseLabel, { rss = true } = {}) {
  const b = summarize(base.samples);
  const headers = [
    "measure",
    "min",
    "median",
    "max",
    "runs",
    `× ${baseLabel}`,
    ...(rss ? ["peak RSS (median)"] : []),
  ];
  const body = Object.values(rows).map((r) => {
    const s = summarize(r.samples);
    const peak = r.rss.filter((x) => x !== undefined);
    return [
      r.label,
      fmtMs(s.min),
      `**${fmtMs(s.median)}**`,
      fmtMs(s.max),
      String(s.n),
      fmtRatio(s.median / b.median),
      ...(rss ? [peak.length ? fmtKiB(summarize(peak).median) : ""] : []),
    ];
  });
  return markdownTable(headers, body);
}

/** Per-round ratios a/b, summarised. */
const perRound = (a, b) => summarize(a.map((x, i) => x / b[i]));
const pct = (r) => `${r >= 1 ? "+" : ""}${((r - 1) * 100).toFixed(1)}%`;

function render(res) {
  const { machine, options: o, create, verify, memory } = res;
  const out = [
    `#### Run of ${res.date}`,
    "",
    `Machine: ${machine.cpus}× ${machine.cpuModel}, ${machine.memGiB} GiB RAM (${machine.freeMemGiB} GiB free at start), ${machine.os}; ` +
      `Node ${machine.node}; PostgreSQL ${machine.postgres} (${o.fast ? "fsync OFF (--fast)" : "fsync on, default durability"}); ` +
      `${machine.pgDump}; confiture ${machine.confiture} (\`node ${machine.confitureBin}\`); peak RSS from ${machine.gnuTime}.`,
    "",
    `1-minute load average: ${Object.entries(res.loadavg)
      .map(([k, v]) => `${k} ${v[0].toFixed(2)}`)
      .join(", ")} (${machine.cpus} cores). Time: ${Object.entries(res.seconds)
      .map(([k, v]) => `${k} ${v} s`)
      .join(", ")}, total ${res.elapsedSeconds} s.`,
    "",
    `Database: ${gib(res.database.bytes)} (\`pg_database_size\`), ${res.database.rows.toLocaleString("en-US")} rows in 3 tables ` +
      `(events ${res.database.counts.events.toLocaleString("en-US")}, accounts ${res.database.counts.accounts.toLocaleString("en-US")}, ` +
      `audit_log ${res.database.counts.audit.toLocaleString("en-US")}), 2 migrations applied with \`migrate up\`; seeded in ${res.seconds.seed} s ` +
      `(synchronous_commit=off while seeding, then VACUUM ANALYZE and CHECKPOINT; not a timed result). ` +
      `Dump: custom format, compress ${o.compress} for both confiture (\`backup.compress\`) and pg_dump (\`-Z${o.compress}\`), ${gib(create.sizeBytes)}.`,
    "",
  ];
  if (o.rounds < MIN_RUNS || o.verifyRounds < MIN_RUNS) {
    out.push(`**Fewer than ${MIN_RUNS} rounds in a scenario**: a quick look, not figures to publish.`, "");
  }
  const r = create.rows;
  const cm = summarize(r.create.samples).median;
  const fm = summarize(r.fast.samples).median;
  const dm = summarize(r.pgDump.samples).median;
  const perCreate = perRound(r.create.samples, r.pgDump.samples);
  const perFast = perRound(r.fast.samples, r.pgDump.samples);
  out.push(
    `##### backup create vs bare pg_dump (${o.rounds} rounds after 1 warm-up round, order rotated each round, CHECKPOINT before each command)`,
    "",
    table(r, r.pgDump, "pg_dump"),
    "",
    `Overhead of \`backup create\` over pg_dump: ${pct(cm / dm)} (medians; per round ${pct(perCreate.min)} – ${pct(perCreate.max)}); ` +
      `with \`--fast\`: ${pct(fm / dm)} (per round ${pct(perFast.min)} – ${pct(perFast.max)}). ` +
      `The difference between the two confiture rows is the exact \`count(*)\` of every table: ${fmtMs(cm - fm)} (medians). ` +
      "The rest of the overhead is Node's start, the snapshot session and reading the history and schema fingerprint, " +
      "and the dump passing through Node, which hashes it (SHA-256) as it is written.",
    "",
  );
  const v = verify.rows;
  const vm = summarize(v.verify.samples).median;
  const bm = summarize(v.bare.samples).median;
  const rm = summarize(v.restoreMs.samples).median;
  const brm = summarize(v.bareRestore.samples).median;
  out.push(
    `##### backup verify vs bare restore test (${o.verifyRounds} rounds, order alternating, CHECKPOINT before each)`,
    "",
    table(v, v.bare, "bare", { rss: true }),
    "",
    `The RTO figure (\`restoreMs\`, pg_restore into the scratch database as \`backup verify\` measures it): ${fmtMs(rm)} median ` +
      `(${fmtMs(summarize(v.restoreMs.samples).min)} – ${fmtMs(summarize(v.restoreMs.samples).max)}), ${fmtRatio(rm / brm)} bare pg_restore's. ` +
      `The whole verify is ${fmtRatio(vm / bm)} the bare restore test: it also hashes the dump (SHA-256), checks history, fingerprint and ` +
      "exact row counts of the restored copy, and records the result.",
    "",
  );
  const ms = summarize(memory.small.rss).median;
  const ml = summarize(r.create.rss).median;
  out.push(
    "##### Memory as the database grows",
    "",
    markdownTable(
      ["database size", "dump size", "`backup create` peak RSS: median (min – max)", "runs", "wall (median)"],
      [
        [
          gib(memory.small.bytes),
          gib(memory.small.dumpBytes),
          `${fmtKiB(ms)} (${fmtKiB(Math.min(...memory.small.rss))} – ${fmtKiB(Math.max(...memory.small.rss))})`,
          String(memory.small.rss.length),
          fmtMs(summarize(memory.small.ms).median),
        ],
        [
          gib(res.database.bytes),
          gib(create.sizeBytes),
          `${fmtKiB(ml)} (${fmtKiB(Math.min(...r.create.rss))} – ${fmtKiB(Math.max(...r.create.rss))})`,
          String(r.create.rss.length),
          fmtMs(cm),
        ],
      ],
    ),
    "",
    "GNU time's peak RSS is the largest of the process and the children it waited for (so node or pg_dump, whichever is larger).",
    "",
    "##### Targets",
    "",
    markdownTable(
      ["target", "measured (medians; per-round range)", "result"],
      [
        [
          "`backup create` at most 5% slower than bare pg_dump",
          `${fmtMs(cm)} vs ${fmtMs(dm)}: ${pct(cm / dm)} (per round ${pct(perCreate.min)} – ${pct(perCreate.max)})`,
          cm / dm <= 1.05 ? "met" : "**missed**",
        ],
        [
          "`backup create --fast` (same target, estimated counts)",
          `${fmtMs(fm)} vs ${fmtMs(dm)}: ${pct(fm / dm)} (per round ${pct(perFast.min)} – ${pct(perFast.max)})`,
          fm / dm <= 1.05 ? "met" : "**missed**",
        ],
        [
          "restore-test time (RTO) reported by `backup verify`",
          `${fmtMs(rm)} (whole verify ${fmtMs(vm)})`,
          "reported",
        ],
        [
          "memory flat as the database grows",
          `${fmtKiB(ms)} at ${gib(memory.small.bytes)}, ${fmtKiB(ml)} at ${gib(res.database.bytes)}`,
          ml <= ms * 1.2 ? "met" : "**missed**",
        ],
      ],
    ),
  );
  return out.join("\n");
}

let server;
let admin;
const { workDir, cleanup } = benchLifecycle("confiture-bench-backup-", log, () => ({ server, admin }));

async function main() {
  const started = Date.now();
  const lap = lapTimer(started);
  const available = confiture.available();
  if (!available.ok) throw new Error(available.why);
  const gnuTime = probeGnuTime(workDir);
  if (!gnuTime.ok) throw new Error(`peak RSS needs GNU time: ${gnuTime.why}`);
  ({ server, admin } = await benchServer({ fast: options.fast }, log));
  const bin = (name) => (server.binDir ? join(server.binDir, name) : name);
  const res = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model?.trim() ?? "unknown",
      memGiB: Math.round(totalmem() / 2 ** 30),
      freeMemGiB: Math.round(freemem() / 2 ** 30),
      os: `${platform()} ${release()}`,
      node: process.version,
      postgres: await admin.serverVersion(),
      pgDump: execFileSync(bin("pg_dump"), ["--version"], { encoding: "utf8" }).trim(),
      gnuTime: gnuTime.version,
      confitureBin: relative(repoDir, confiture.binPath()),
      confiture: `${JSON.parse(readFileSync(join(repoDir, "package.json"), "utf8")).version} @ ${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "src") ? " (+ uncommitted src changes)" : ""}`,
    },
    options,
    serverSettings: server.settings,
    loadavg: { start: loadavg() },
    seconds: { setup: lap() },
  };

  const dir = join(workDir, "project");
  const { backupDir } = writeBackupProject(dir, { compress: options.compress });
  mkdirSync(backupDir, { recursive: true });
  const db = "bench_backup";
  const url = await admin.create(db, { settings: { synchronous_commit: "off" } });
  timeCommand(confiture.cli(dir, url, ["migrate", "up"]));
  const c = commands({ server, admin, dir, backupDir, db, url });
  const counts = { events: 0, accounts: 0, audit: 0 };
  const settle = async () => {
    await admin.query("VACUUM ANALYZE", [], db);
    await admin.checkpoint();
  };

  log(`\n(1) seeding to ${options.smallGiB} GiB, then peak RSS of backup create (2 runs after 1 warm-up)`);
  const smallBytes = await growTo(admin, db, options.smallGiB * 2 ** 30, counts, log, options.batch);
  await admin.resetSettings(db);
  await settle();
  res.seconds.seedSmall = lap();
  const probe = await memoryProbe(admin, c, backupDir, gnuTime, 2);
  timeCommand(c.pgDump());
  const smallDump = Number(execFileSync("stat", ["-c", "%s", c.dumpFile], { encoding: "utf8" }).trim());
  clearDir(backupDir);
  res.memory = { small: { bytes: smallBytes, dumpBytes: smallDump, ...probe } };
  res.loadavg.afterSmall = loadavg();
  res.seconds.memorySmall = lap();

  log(`\n(2) seeding to ${options.sizeGiB} GiB`);
  await admin.query(`ALTER DATABASE ${db} SET synchronous_commit = off`);
  const bytes = await growTo(admin, db, options.sizeGiB * 2 ** 30, counts, log, options.batch);
  await admin.resetSettings(db);
  await settle();
  res.database = { bytes, counts, rows: counts.events + counts.accounts + counts.audit };
  res.seconds.seed = res.seconds.seedSmall + lap();

  log(`\n(3) backup create vs pg_dump -Fc -Z${options.compress}, ${options.rounds} rounds`);
  res.create = await createScenario(admin, c, backupDir, gnuTime);
  res.loadavg.afterCreate = loadavg();
  res.seconds.create = lap();

  log(`\n(4) backup verify --latest vs createdb + pg_restore + dropdb, ${options.verifyRounds} rounds`);
  res.verify = await verifyScenario(admin, c, res.create.kept, gnuTime);
  res.loadavg.afterVerify = loadavg();
  res.seconds.verify = lap();

  publishResults(res, { prefix: "backup-", render: render, started, log });
}

await runBench(main, cleanup, log);
