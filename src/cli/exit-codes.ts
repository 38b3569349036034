/** SPEC section 10: exit codes by category come from the library's one table (errors.ts). */
import { EXIT_CODES, exitCodeFor } from "../index.js";

export const EXIT = { ok: 0, ...EXIT_CODES } as const;

export { exitCodeFor };
