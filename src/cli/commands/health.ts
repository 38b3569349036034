/** `confiture health check`. */
import { COMMANDS, type HealthItem, type HealthLevel, healthCheck } from "../../index.js";
import { type Paint, table } from "../output.js";
import { defineCommand } from "../spec.js";

/** Each check OK / WARN / CRIT; the library's report makes it exit 3 when one is CRIT. */
export const healthCheckCommand = defineCommand({
  name: COMMANDS.healthCheck,
  example: "confiture health check\nconfiture health check --format json",
  description:
    "connection and latency, server version, recovery, tracking table, migration lock, pending / failed migrations, checksums, newest backup against objectives.rpo, WAL archiving: each OK / WARN / CRIT (exit 3 on CRIT)",
  async run({ config }) {
    const r = await healthCheck(await config());
    return {
      json: { ...r },
      report: r.report,
      text: (p) =>
        [
          table(
            ["CHECK", "LEVEL", "DETAIL"],
            r.checks.map((c) => [c.name, paintLevel(p, c.level), c.summary]),
          ),
          verdict(r.checks),
        ].join("\n"),
    };
  },
});

/** `healthy`, `healthy (2 warnings)`, `unhealthy: 1 critical, 2 warnings`. */
function verdict(checks: HealthItem[]): string {
  const crit = checks.filter((c) => c.level === "CRIT").length;
  const warn = checks.filter((c) => c.level === "WARN").length;
  const warnings = `${warn} warning${warn === 1 ? "" : "s"}`;
  if (crit > 0) return `unhealthy: ${crit} critical${warn > 0 ? `, ${warnings}` : ""}`;
  return warn > 0 ? `healthy (${warnings})` : "healthy";
}

function paintLevel(p: Paint, level: HealthLevel): string {
  if (level === "OK") return p.green(level);
  if (level === "WARN") return p.yellow(level);
  return p.red(level);
}
