/**
 * Timing whole subprocesses and summarising samples. A sample is wall-clock time from spawn to
 * exit, as a user waiting at a prompt would see it. Optionally the command runs under GNU time
 * (`/usr/bin/time -o FILE`), which reports the client's CPU (user + sys of the process and the
 * children it waited for) and its peak resident set size without touching the tool's own output.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const GNU_TIME = "/usr/bin/time";
/** user seconds, system seconds, max RSS in KiB: one line in the -o file. */
const TIME_FORMAT = "confiture-bench %U %S %M";
const TIME_LINE = /^confiture-bench (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/m;

/**
 * Probe GNU time once. Returns `{ ok: true, bin, file, version }` or `{ ok: false, why }`;
 * `file` is where each run's figures go (inside the bench's work dir).
 */
export function probeGnuTime(workDir) {
  if (!existsSync(GNU_TIME)) return { ok: false, why: `${GNU_TIME} not found (Debian package "time")` };
  const file = join(workDir, "gnu-time.out");
  const r = spawnSync(GNU_TIME, ["-f", TIME_FORMAT, "-o", file, "true"], { encoding: "utf8" });
  const out = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (r.status !== 0 || !TIME_LINE.test(out)) {
    return {
      ok: false,
      why: `${GNU_TIME} is not GNU time or does not support -f/-o (${(r.stderr || String(r.error ?? "")).trim().split("\n")[0]})`,
    };
  }
  const v = spawnSync(GNU_TIME, ["--version"], { encoding: "utf8" });
  let version = `${v.stdout ?? ""}${v.stderr ?? ""}`.split("\n")[0].trim() || "GNU time";
  if (/UNKNOWN/.test(version)) {
    // Debian's build prints "time (GNU Time) UNKNOWN"; the package version says more.
    const d = spawnSync("dpkg-query", ["-W", "-f", "$" + "{Version}", "time"], { encoding: "utf8" });
    if (d.status === 0 && d.stdout.trim()) version = `GNU time (Debian package time ${d.stdout.trim()})`;
  }
  return { ok: true, bin: GNU_TIME, file, version };
}

/**
 * Run one command to completion and return its wall time in milliseconds. Throws with the tail
 * of its output when it exits non-zero, so a broken tool never produces a fast-looking number.
 * With `gnuTime` (from probeGnuTime) the command runs under /usr/bin/time and the result also has
 * `cpuMs` (user + sys) and `rssKiB` (peak resident set size); wall time is still measured here,
 * around the whole spawn, so it includes GNU time's own start (about a millisecond).
 */
export function timeCommand({ cmd, args, cwd, env, okCodes = [0] }, { gnuTime } = {}) {
  let file;
  let command = cmd;
  let argv = args;
  if (gnuTime?.ok) {
    file = gnuTime.file;
    rmSync(file, { force: true });
    command = gnuTime.bin;
    argv = ["-f", TIME_FORMAT, "-o", file, cmd, ...args];
  }
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, argv, {
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
  const out = { ms, stdout: r.stdout.toString("utf8") };
  if (file) {
    const m = TIME_LINE.exec(existsSync(file) ? readFileSync(file, "utf8") : "");
    if (!m) throw new Error(`${GNU_TIME} wrote no figures for ${cmd} ${args.join(" ")}`);
    out.cpuMs = (Number(m[1]) + Number(m[2])) * 1000;
    out.rssKiB = Number(m[3]);
  }
  return out;
}

/** Median, min, max, and the interquartile range of a list of numbers. */
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

/** `81234` KiB -> `79.3 MiB`. */
export function fmtKiB(kib) {
  if (kib === undefined || Number.isNaN(kib)) return "n/a";
  return `${(kib / 1024).toFixed(1)} MiB`;
}

export function fmtRatio(r) {
  return r === undefined || !Number.isFinite(r) ? "" : `${r.toFixed(2)}×`;
}

/** A GitHub-flavoured markdown table. */
export function markdownTable(headers, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}
