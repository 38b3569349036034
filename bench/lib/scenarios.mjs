/**
 * The scenarios. Each returns rows `{ label, samples[], cpu[]?, rss[]?, error? }` (per tool, or
 * per tool and command) plus any notes. Tools take turns inside every round (in a rotating
 * order), so slow drift on the machine (checkpoints, page cache, a neighbour's load) spreads
 * over all of them instead of one.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { timeCommand } from "./measure.mjs";
import { migrationId } from "./tools.mjs";

const rotate = (list, k) => list.map((_, i) => list[(i + k) % list.length]);
const log = (msg) => process.stderr.write(`${msg}\n`);
const newRow = (label) => ({ label, samples: [], cpu: [], rss: [] });
const dbName = (prefix, id) => `${prefix}_${id.replace(/\W/g, "_")}`;

/** Keep one timed run's figures in its row. */
function record(row, r) {
  row.samples.push(r.ms);
  if (r.cpuMs !== undefined) row.cpu.push(r.cpuMs);
  if (r.rssKiB !== undefined) row.rss.push(r.rssKiB);
}

function prepareDirs(workDir, tools, count, tag) {
  const dirs = {};
  for (const tool of tools) {
    const dir = join(workDir, `${tag}-${tool.id}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    tool.write(dir, count);
    dirs[tool.id] = dir;
  }
  return dirs;
}

/**
 * One untimed warm-up round, then `runs` rounds; in each round every entry runs once, in an order
 * rotated by one per round. An entry is `{ row, spec, before?, after? }`: `before` and `after`
 * (setup, checks, undo) are not timed. A failing entry is marked on its row and skipped after.
 */
async function runRounds(entries, runs, { gnuTime, what }) {
  for (let round = -1; round < runs; round++) {
    for (const e of rotate(entries, Math.max(round, 0))) {
      if (e.row.error) continue;
      try {
        await e.before?.();
        const r = timeCommand(e.spec, { gnuTime });
        await e.after?.(r);
        if (round >= 0) record(e.row, r);
      } catch (err) {
        e.row.error = err.message;
        log(`  ${what} ${e.row.label} FAILED: ${err.message.split("\n")[0]}`);
      }
    }
  }
  for (const e of entries) {
    if (!e.row.error) log(`  ${what} ${e.row.label}: ${e.row.samples.map((s) => s.toFixed(0)).join(",")} ms`);
  }
}

/**
 * (1) Apply `count` small migrations to an empty database; a fresh database per trial, and a
 * CHECKPOINT just before each timed run so every tool starts from the same WAL state (the first
 * change to each page after a checkpoint also writes a full-page image, which is part of the cost).
 * One untimed warm-up round comes first for every tool. With `gnuTime`, each run also reports
 * the client's CPU and peak RSS.
 */
export async function applyScenario({ admin, tools, workDir, count, runs, gnuTime }) {
  const dirs = prepareDirs(workDir, tools, count, `apply${count}`);
  const out = Object.fromEntries(tools.map((t) => [t.id, newRow(t.label)]));
  for (let round = -1; round < runs; round++) {
    for (const tool of rotate(tools, Math.max(round, 0))) {
      const res = out[tool.id];
      if (res.error) continue;
      const db = dbName("bench_apply", tool.id);
      try {
        const url = await admin.create(db);
        await admin.checkpoint();
        const r = timeCommand(tool.apply(dirs[tool.id], url), { gnuTime });
        const tables = await admin.countBenchTables(db);
        if (tables !== count) throw new Error(`expected ${count} tables after apply, found ${tables}`);
        if (round >= 0) record(res, r);
        const cpu = r.cpuMs === undefined ? "" : `, client CPU ${r.cpuMs.toFixed(0)} ms`;
        log(
          `  apply ${count} [${round < 0 ? "warm-up" : `${round + 1}/${runs}`}] ${tool.label}: ${r.ms.toFixed(0)} ms${cpu}`,
        );
      } catch (err) {
        res.error = err.message;
        log(`  apply ${count} ${tool.label} FAILED: ${err.message.split("\n")[0]}`);
      } finally {
        await admin.drop(db).catch(() => {});
      }
    }
  }
  return out;
}

/**
 * Seed one database per tool with `count` migrations through the tool's own `up` (so the history
 * is in its real format), with synchronous_commit=off while seeding only. Returns
 * `{ dir, db, url, seedMs }` or throws.
 */
async function seed({ admin, tool, dir, db, count }) {
  const url = await admin.create(db, { settings: { synchronous_commit: "off" } });
  log(`  seeding ${count} migrations with ${tool.label} ...`);
  const seedMs = timeCommand(tool.apply(dir, url)).ms;
  const tables = await admin.countBenchTables(db);
  if (tables !== count) throw new Error(`expected ${count} tables after seeding, found ${tables}`);
  log(`  seeded in ${(seedMs / 1000).toFixed(1)} s`);
  await admin.resetSettings(db);
  await admin.query("VACUUM ANALYZE", [], db);
  return { dir, db, url, seedMs };
}

/** The Node floor script must report every one of `count` migrations as applied. */
function checkFloorOutput(stdout, count, pendingId) {
  const lines = stdout.split("\n").filter(Boolean);
  const applied = lines.filter((l) => l.startsWith("applied ")).length;
  const pending = lines.filter((l) => l.startsWith("pending "));
  if (applied !== count || lines.length !== count + (pendingId ? 1 : 0)) {
    throw new Error(
      `floor script printed ${lines.length} lines, ${applied} applied; expected ${count} applied`,
    );
  }
  if (pendingId && (pending.length !== 1 || pending[0] !== `pending ${pendingId}`)) {
    throw new Error(`floor script did not report ${pendingId} as pending`);
  }
}

/**
 * (2) `status` and a no-op `up` with `count` (10,000) migrations applied. Each tool seeds its own
 * database; tools run one after another here (seed, time, drop): a seeded database holds `count`
 * tables, and keeping four of them around at once would cost disk and catalog cache for nothing.
 * The Node floor script runs in confiture's turn, against confiture's database, interleaved with
 * confiture's commands. With `gnuTime`, every run also reports CPU and peak RSS.
 */
export async function historyScenario({ admin, tools, nodeFloor, workDir, count, runs, gnuTime }) {
  const out = {};
  for (const tool of tools) {
    const dir = prepareDirs(workDir, [tool], count, `history${count}`)[tool.id];
    const db = dbName("bench_history", tool.id);
    const res = {
      label: tool.label,
      seedMs: undefined,
      status: newRow(tool.label),
      noopUp: newRow(tool.label),
    };
    out[tool.id] = res;
    const floorRow = tool.id === "confiture" && nodeFloor ? newRow(nodeFloor.label) : undefined;
    // The floor script is the floor for both commands: the same samples appear in both tables.
    if (floorRow) out[nodeFloor.id] = { label: nodeFloor.label, status: floorRow, noopUp: floorRow };
    try {
      const s = await seed({ admin, tool, dir, db, count });
      res.seedMs = s.seedMs;
      await admin.checkpoint();
      const entries = [];
      if (tool.status) entries.push({ row: res.status, spec: tool.status(dir, s.url) });
      else res.status.error = "no status command";
      if (tool.noopUp) entries.push({ row: res.noopUp, spec: tool.noopUp(dir, s.url) });
      if (floorRow) {
        entries.push({
          row: floorRow,
          spec: nodeFloor.status(dir, s.url),
          after: (r) => checkFloorOutput(r.stdout, count),
        });
      }
      await runRounds(entries, runs, { gnuTime, what: `${count} applied:` });
      const failed = entries.find((e) => e.row.error);
      if (failed) throw new Error(failed.row.error);
      const after = await admin.countBenchTables(db);
      if (after !== count) throw new Error(`no-op up changed the database: ${after} tables`);
    } catch (err) {
      res.error = err.message;
      if (floorRow) floorRow.error ??= `confiture's database: ${err.message}`;
      log(`  history ${tool.label} FAILED: ${err.message.split("\n")[0]}`);
    } finally {
      await admin.drop(db).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

/**
 * (2') The small history: every tool seeds its own database with `count` (1,000) migrations, all
 * kept at once, then
 *  - `history`: status and no-op up of every tool, the psql floor's two scripts and the Node floor
 *    script, all interleaved in each round;
 *  - `applyOne`: migration `count + 1` is added to every project, and each round every tool
 *    applies it (CHECKPOINT before, untimed), then the bench undoes it (DROP TABLE and the tool's
 *    history row) through the admin connection; the Node floor script runs in the same rounds.
 * Returns `{ seedMs, status, noopUp, applyOne }`, each of the last three a set of rows by id.
 */
export async function smallHistoryScenario({
  admin,
  tools,
  nodeFloor,
  workDir,
  count,
  runs,
  history,
  applyOne,
}) {
  const out = { seedMs: {}, status: {}, noopUp: {}, applyOne: {} };
  const seeded = {};
  const floorNeeded = nodeFloor && tools.some((t) => t.id === "confiture");
  try {
    for (const tool of tools) {
      const dir = prepareDirs(workDir, [tool], count, `small${count}`)[tool.id];
      try {
        const s = await seed({ admin, tool, dir, db: dbName("bench_small", tool.id), count });
        seeded[tool.id] = s;
        out.seedMs[tool.id] = s.seedMs;
      } catch (err) {
        seeded[tool.id] = { error: err.message };
        log(`  seeding ${tool.label} FAILED: ${err.message.split("\n")[0]}`);
      }
    }
    const rowFor = (set, id, label, why) => {
      set[id] = newRow(label);
      if (seeded[id]?.error) set[id].error = `seeding failed: ${seeded[id].error}`;
      else if (why) set[id].error = why;
      return set[id];
    };
    const confDb = seeded.confiture && !seeded.confiture.error ? seeded.confiture : undefined;

    if (history) {
      await admin.checkpoint();
      const entries = [];
      for (const tool of tools) {
        const s = seeded[tool.id];
        const st = rowFor(out.status, tool.id, tool.label, tool.status ? undefined : "no status command");
        const nu = rowFor(out.noopUp, tool.id, tool.label);
        if (tool.status && !st.error) entries.push({ row: st, spec: tool.status(s.dir, s.url) });
        if (!nu.error) entries.push({ row: nu, spec: tool.noopUp(s.dir, s.url) });
        if (tool.id === "confiture" && floorNeeded) {
          const row = rowFor(out.status, nodeFloor.id, nodeFloor.label);
          out.noopUp[nodeFloor.id] = row; // the same floor for both commands
          if (confDb) {
            entries.push({
              row,
              spec: nodeFloor.status(confDb.dir, confDb.url),
              after: (r) => checkFloorOutput(r.stdout, count),
            });
          } else row.error = "needs confiture's seeded database";
        }
      }
      log(`  status / no-op up with ${count} applied, ${runs} rounds of ${entries.length} commands`);
      await runRounds(entries, runs, { what: `${count} applied:` });
      for (const tool of tools) {
        const s = seeded[tool.id];
        if (s.error) continue;
        const after = await admin.countBenchTables(s.db);
        if (after !== count) {
          out.noopUp[tool.id].error = `no-op up changed the database: ${after} tables`;
        }
      }
    }

    if (applyOne) {
      const n = count + 1;
      await admin.checkpoint();
      const entries = [];
      for (const tool of tools) {
        const s = seeded[tool.id];
        const row = rowFor(out.applyOne, tool.id, tool.label, tool.applyOne ? undefined : "cannot apply one");
        if (tool.id === "confiture" && floorNeeded) {
          const floorRow = rowFor(out.applyOne, nodeFloor.id, `${nodeFloor.label}: status`);
          if (confDb) {
            entries.push({
              row: floorRow,
              spec: nodeFloor.status(confDb.dir, confDb.url),
              after: (r) => checkFloorOutput(r.stdout, count, migrationId(n)),
            });
          } else floorRow.error = "needs confiture's seeded database";
        }
        if (row.error) continue;
        tool.writeOne(s.dir, n);
        entries.push({
          row,
          spec: tool.applyOne(s.dir, s.url),
          before: () => admin.checkpoint(),
          after: async () => {
            const tables = await admin.countBenchTables(s.db);
            if (tables !== n) throw new Error(`expected ${n} tables after applying one, found ${tables}`);
            // Undo, untimed: the table and the tool's own history row, in one transaction.
            await admin.query(`BEGIN; DROP TABLE t_${n}; ${tool.forgetSql(n)}; COMMIT;`, [], s.db);
          },
        });
      }
      log(`  apply one on top of ${count}, ${runs} rounds of ${entries.length} commands`);
      await runRounds(entries, runs, { what: `apply one on ${count}:` });
    }
  } finally {
    for (const s of Object.values(seeded)) if (s.db) await admin.drop(s.db).catch(() => {});
    for (const tool of tools)
      rmSync(join(workDir, `small${count}-${tool.id}`), { recursive: true, force: true });
  }
  return out;
}

/** (3) Start-up: `--version` (or the nearest equivalent) as a whole process, after warm-up. */
export function startupScenario({ entries, workDir, runs }) {
  const dir = join(workDir, "startup");
  mkdirSync(dir, { recursive: true });
  const out = {};
  const live = [];
  for (const e of entries) {
    out[e.id] = newRow(e.label);
    try {
      const spec = e.spec(dir);
      for (let i = 0; i < 3; i++) timeCommand(spec); // warm the page cache and V8's code cache
      live.push([e, spec]);
    } catch (err) {
      out[e.id].error = err.message;
    }
  }
  for (let round = 0; round < runs; round++) {
    for (const [e, spec] of rotate(live, round)) record(out[e.id], timeCommand(spec));
  }
  return out;
}
