/**
 * What the runner sends ahead of a migration's own statements, in the same message: BEGIN, the
 * transaction-local lock_timeout and an application_name that names the migration. Built and
 * recognised here, in one place, so lock status can show the holder's query without it.
 */

/** The prelude statements. `applicationName` must come from Confiture itself (no quotes). */
export function migrationPrelude(opts: {
  begin: boolean;
  lockTimeoutMs: number;
  applicationName: string;
}): string[] {
  if (opts.applicationName.includes("'")) throw new Error("internal: application name contains a quote");
  const statements = [
    `set local lock_timeout = '${Math.max(1, Math.round(opts.lockTimeoutMs))}ms'`,
    `set local application_name = '${opts.applicationName.slice(0, 63)}'`,
  ];
  return opts.begin ? ["begin", ...statements] : statements;
}

const PRELUDE = /^(begin;\s*)?set local lock_timeout = '\d+ms';\s*set local application_name = '[^']*';\s*/i;

/** A session's current query with the prelude removed, so the migration's statements come first. */
export function withoutPrelude(query: string | null): string | null {
  return query === null ? null : query.replace(PRELUDE, "");
}
