/**
 * Protected environments: a destructive command needs `--force`, or the environment's name
 * typed at a terminal (the CLI supplies `confirm` only when a person is there).
 */
import { UsageError } from "../errors.js";

export interface ConsentOptions {
  /** Skip the confirmation. */
  force?: boolean | undefined;
  /** Ask a person; resolve true to go ahead. Absent (no TTY): a protected environment refuses. */
  confirm?: ((question: string) => Promise<boolean>) | undefined;
}

/**
 * Throws PROTECTED_ENVIRONMENT / NOT_CONFIRMED unless the environment is unprotected, `force`
 * is set, or the person confirms. `action` completes "rolling back needs --force".
 */
export async function requireConsent(
  target: { protected: boolean; environment: string | undefined },
  action: string,
  opts: ConsentOptions,
): Promise<void> {
  if (!target.protected || opts.force) return;
  const env = target.environment ?? "this environment";
  if (!opts.confirm) {
    throw new UsageError(
      `environment "${env}" is protected: ${action} needs --force (or run it in a terminal to confirm interactively)`,
      "PROTECTED_ENVIRONMENT",
    );
  }
  const ok = await opts.confirm(`Environment "${env}" is protected. Type the environment name to continue: `);
  if (!ok) throw new UsageError("not confirmed; nothing was changed", "NOT_CONFIRMED");
}
