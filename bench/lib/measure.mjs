/**
 * Timing whole subprocesses and summarising samples. A sample is wall-clock time from spawn to
 * exit, as a user waiting at a prompt would see it.
 */
import { spawnSync } from "node:child_process";

/**
 * Run one command to completion and return its wall time in milliseconds. Throws with the tail
 * of its output when it exits non-zero, so a broken tool never produces a fast-looking number.
 */
export function timeCommand({ cmd, args, cwd, env, okCodes = [0] }) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 512 * 1024 * 1024,
    timeout: 600_000,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error || !okCodes.includes(r.status)) {
    const tail = (b) => (b ? b.toString("utf8").split("\n").slice(-12).join("\n") : "");
    throw new Error(
      `${cmd} ${args.join(" ")} (cwd ${cwd}) exited ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ""}\n` +
        `--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`,
    );
  }
  return { ms, stdout: r.stdout.toString("utf8") };
}

/** Median, min, max, and the interquartile range of a list of milliseconds. */
export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => {
    const pos = (s.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return { n: s.length, median: at(0.5), min: s[0], max: s.at(-1), p25: at(0.25), p75: at(0.75) };
}

/** `1234.5` -> `1,235 ms`; small values keep one decimal. */
export function fmtMs(ms) {
  if (ms === undefined || Number.isNaN(ms)) return "n/a";
  return ms >= 100 ? `${Math.round(ms).toLocaleString("en-US")} ms` : `${ms.toFixed(1)} ms`;
}

export function fmtRatio(r) {
  return r === undefined || !Number.isFinite(r) ? "" : `${r.toFixed(2)}×`;
}

/** A GitHub-flavoured markdown table. */
export function markdownTable(headers, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}
