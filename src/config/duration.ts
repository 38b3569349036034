/**
 * Durations in confiture.yaml: `500ms`, `60s`, `5m`, `1h`, `2d`, or a combination such as `1h30m`.
 * A bare number (YAML `60` or the string "60") means seconds, because every duration key in
 * the file is naturally written in seconds or more and `lock_timeout: 60` reading as 60 ms
 * would be a trap.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

// `ms` must come before `m` and `s` in the alternation so "500ms" is not read as "500m" + "s".
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Parse a duration to whole milliseconds, or undefined when it is not a duration.
 * @example parseDuration("1h30m") // 5_400_000
 */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1_000) : undefined;
  }
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1_000);
  if (text === "") return undefined;
  let total = 0;
  let position = 0;
  while (position < text.length) {
    PART.lastIndex = position;
    const match = PART.exec(text);
    if (match === null) return undefined;
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? Number.NaN);
    position = PART.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/**
 * Format milliseconds in the largest unit that represents them exactly, as a user would write it.
 * @example formatDuration(300_000) // "5m"
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
