/**
 * Protected environments: a destructive command needs `--force`, or the environment's name
 * typed at a terminal (the CLI supplies `confirm` only when a person is there). Without a
 * terminal the refusal comes before anything connects; at a terminal the question comes once
 * the plan is prepared, so it can say what is about to happen, to which database.
 */
import { UsageError } from "../errors.js";

export interface ConsentOptions {
  /** Skip the confirmation. */
  force?: boolean | undefined;
  /** Ask a person; resolve true to go ahead. Absent (no TTY): a protected environment refuses. */
  confirm?: ((question: string) => Promise<boolean>) | undefined;
}

interface Target {
  protected: boolean;
  environment: string | undefined;
}

/**
 * Throws PROTECTED_ENVIRONMENT when the environment is protected, `force` is not set and no
 * person can be asked. `action` completes "rolling back needs --force"; `database` names it.
 */
export function refuseWithoutConsent(
  target: Target,
  action: string,
  database: string,
  opts: ConsentOptions,
): void {
  if (!target.protected || opts.force || opts.confirm) return;
  throw new UsageError(
    `environment "${target.environment ?? "this environment"}" (${database}) is protected: ${action} needs --force ` +
      "(or run it in a terminal to confirm interactively). Nothing was changed.",
    "PROTECTED_ENVIRONMENT",
  );
}

/**
 * At a terminal on a protected environment: say what is about to happen (`action`, e.g.
 * "rolling back", then `what`, one fact a line) and ask for the environment's name. Throws
 * NOT_CONFIRMED unless it is typed.
 */
export async function askConsent(
  target: Target,
  action: string,
  database: string,
  what: string[],
  opts: ConsentOptions,
): Promise<void> {
  if (!target.protected || opts.force || !opts.confirm) return;
  const env = target.environment ?? "this environment";
  const facts = what.length > 0 ? `\n${what.map((line) => `  ${line}`).join("\n")}\n` : " ";
  const ok = await opts.confirm(
    `Environment "${env}" is protected. ${action[0]?.toUpperCase() ?? ""}${action.slice(1)} on ${database}:${facts}Type the environment name to continue: `,
  );
  if (!ok) throw new UsageError("not confirmed; nothing was changed", "NOT_CONFIRMED");
}
