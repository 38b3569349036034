/**
 * The three scenarios. Each returns `{ [toolId]: { label, samples[], error? } }` plus any notes.
 * Tools take turns inside every round (in a rotating order), so slow drift on the machine —
 * checkpoints, page cache, a neighbour's load — spreads over all of them instead of one.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { timeCommand } from "./measure.mjs";

const rotate = (list, k) => list.map((_, i) => list[(i + k) % list.length]);
const log = (msg) => process.stderr.write(`${msg}\n`);

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
 * (1) Apply `count` small migrations to an empty database; a fresh database per trial, and a
 * CHECKPOINT just before each timed run so every tool starts from the same WAL state (the first
 * change to each page after a checkpoint also writes a full-page image, which is part of the cost).
 * One untimed warm-up round comes first for every tool.
 */
export async function applyScenario({ admin, tools, workDir, count, runs }) {
  const dirs = prepareDirs(workDir, tools, count, `apply${count}`);
  const out = Object.fromEntries(tools.map((t) => [t.id, { label: t.label, samples: [] }]));
  for (let round = -1; round < runs; round++) {
    for (const tool of rotate(tools, Math.max(round, 0))) {
      const res = out[tool.id];
      if (res.error) continue;
      const db = `bench_apply_${tool.id.replace(/\W/g, "_")}`;
      try {
        const url = await admin.create(db);
        await admin.checkpoint();
        const { ms } = timeCommand(tool.apply(dirs[tool.id], url));
        const tables = await admin.countBenchTables(db);
        if (tables !== count) throw new Error(`expected ${count} tables after apply, found ${tables}`);
        if (round >= 0) res.samples.push(ms);
        log(
          `  apply ${count} [${round < 0 ? "warm-up" : `${round + 1}/${runs}`}] ${tool.label}: ${ms.toFixed(0)} ms`,
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
 * (2) `status` and a no-op `up` with `count` migrations applied. Each tool seeds its own
 * database by applying all `count` migrations with its own `up` (so the history is in its real
 * format) while the database has synchronous_commit=off; that setting is reset before timing.
 * Tools run one after another here: a seeded database holds `count` tables, and keeping four of
 * them around at once would cost disk and catalog cache for nothing.
 */
export async function historyScenario({ admin, tools, workDir, count, runs }) {
  const out = {};
  for (const tool of tools) {
    const dir = prepareDirs(workDir, [tool], count, `history${count}`)[tool.id];
    const db = `bench_history_${tool.id.replace(/\W/g, "_")}`;
    const res = { label: tool.label, seedMs: undefined, status: { samples: [] }, noopUp: { samples: [] } };
    out[tool.id] = res;
    try {
      const url = await admin.create(db, { settings: { synchronous_commit: "off" } });
      log(`  seeding ${count} migrations with ${tool.label} ...`);
      res.seedMs = timeCommand(tool.apply(dir, url)).ms;
      const tables = await admin.countBenchTables(db);
      if (tables !== count) throw new Error(`expected ${count} tables after seeding, found ${tables}`);
      log(`  seeded in ${(res.seedMs / 1000).toFixed(1)} s`);
      await admin.resetSettings(db);
      await admin.query("VACUUM ANALYZE", [], db);
      await admin.checkpoint();
      const kinds = [
        ["status", tool.status?.(dir, url)],
        ["noopUp", tool.noopUp?.(dir, url)],
      ].filter(([, spec]) => spec);
      for (const [, spec] of kinds) timeCommand(spec); // warm-up, not recorded
      for (let i = 0; i < runs; i++) {
        for (const [kind, spec] of kinds) res[kind].samples.push(timeCommand(spec).ms);
      }
      if (!tool.status) res.status.error = "no status command";
      log(
        `  ${tool.label}: ${kinds.map(([k]) => `${k} ${res[k].samples.map((s) => s.toFixed(0)).join(",")}`).join(" | ")}`,
      );
      const after = await admin.countBenchTables(db);
      if (after !== count) throw new Error(`no-op up changed the database: ${after} tables`);
    } catch (err) {
      res.error = err.message;
      log(`  history ${tool.label} FAILED: ${err.message.split("\n")[0]}`);
    } finally {
      await admin.drop(db).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
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
    out[e.id] = { label: e.label, samples: [] };
    try {
      const spec = e.spec(dir);
      for (let i = 0; i < 3; i++) timeCommand(spec); // warm the page cache and V8's code cache
      live.push([e, spec]);
    } catch (err) {
      out[e.id].error = err.message;
    }
  }
  for (let round = 0; round < runs; round++) {
    for (const [e, spec] of rotate(live, round)) out[e.id].samples.push(timeCommand(spec).ms);
  }
  return out;
}
