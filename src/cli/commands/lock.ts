/** `confiture lock status` and `confiture unlock [--force]`. */
import { COMMANDS, holderFields, type LockHolder, lockStatus, unlock } from "../../index.js";
import type { Paint } from "../output.js";
import { defineCommand, flag } from "../spec.js";

/** Who holds the migration lock, and who waits for it. */
export const lockStatusCommand = defineCommand({
  name: COMMANDS.lockStatus,
  example: "confiture lock status --format json",
  description:
    "who holds the migration lock (pid, user, host, application, since, state, query) and who waits for it",
  async run({ config }) {
    const r = await lockStatus(await config());
    return {
      json: { ...r },
      text: (p) => {
        if (!r.holder) return `The migration lock (${r.lock}) is free.`;
        const lines = [`The migration lock (${r.lock}) is held by:`, ...block(p, r.holder)];
        if (r.waiting.length > 0) {
          lines.push(`${r.waiting.length} session(s) waiting for it, oldest first:`);
          for (const [i, w] of r.waiting.entries()) lines.push(...(i > 0 ? [""] : []), ...block(p, w));
        }
        return lines.join("\n");
      },
    };
  },
});

/** End the lock holder's session (only an idle one without --force). */
export const unlockCommand = defineCommand({
  name: COMMANDS.unlock,
  example: "confiture unlock\nconfiture unlock --force",
  changesDatabase: () => true,
  description: "release a stuck migration lock by ending the holder's session (pg_terminate_backend)",
  options: {
    force: flag("--force", "terminate the holder even when it is not idle"),
  },
  async run({ config, options }) {
    const r = await unlock(await config(), { force: options.force });
    return {
      json: { ...r },
      text: () =>
        r.released && r.holder
          ? `Terminated pid ${r.holder.pid}; the migration lock is free.`
          : r.holder === null
            ? "The migration lock is not held; nothing to do."
            : r.message,
    };
  },
});

/** A session as aligned `label  value` lines, indented under the sentence that introduces it. */
function block(p: Paint, h: LockHolder): string[] {
  const fields = holderFields(h);
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `  ${p.dim(label.padEnd(width))}  ${value}`);
}
