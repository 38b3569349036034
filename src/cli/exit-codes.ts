/** SPEC section 10: the one table from error category to process exit code. */
import type { ErrorCategory } from "../index.js";

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  check: 3,
  locked: 4,
  connection: 5,
} as const;

/** Exit code for a typed error's category. */
export function exitCodeFor(category: ErrorCategory): number {
  return EXIT[category];
}
