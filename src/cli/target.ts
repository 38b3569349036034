/**
 * The line every changing command prints once on stderr: which database it changes, and where
 * that URL came from (`target: app@db.internal:5432/app (environment production)`), so the
 * wrong database is noticed before, not after.
 */
import type { ConfitureConfig } from "../index.js";

/** `user@host:port/db (source)`; undefined when no usable URL is configured (the command reports that). */
export function targetLine(config: ConfitureConfig): string | undefined {
  const { url, source } = config.database;
  if (url === undefined || config.database.error !== undefined) return undefined;
  let where: string;
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : "";
    where = `${user}${u.host || "localhost"}${u.pathname}`;
  } catch {
    return undefined;
  }
  return `target: ${where} (${sourceLabel(source)})`;
}

function sourceLabel(source: string | undefined): string {
  const env = source === undefined ? null : /^environments\.(.+)\.database_url$/.exec(source);
  if (env) return `environment ${env[1]}`;
  if (source === "database_url") return "database_url in confiture.yaml";
  return source ?? "configuration";
}
