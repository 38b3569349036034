/** `confiture lock status` and `confiture unlock [--force]`. */
import { COMMANDS, describeHolder, lockStatus, unlock } from "../../index.js";
import { defineCommand, flag } from "../spec.js";

/** Who holds the migration lock, and who waits for it. */
export const lockStatusCommand = defineCommand({
  name: COMMANDS.lockStatus,
  description: "who holds the migration lock: pid, user, host, application, since, current query",
  async run({ config }) {
    const r = await lockStatus(await config());
    return {
      json: { ...r },
      text: () => {
        if (!r.holder) return `The migration lock (${r.lock}) is free.`;
        const lines = [`The migration lock (${r.lock}) is held by ${describeHolder(r.holder)}`];
        for (const w of r.waiting) lines.push(`  waiting: ${describeHolder(w)}`);
        return lines.join("\n");
      },
    };
  },
});

/** End the lock holder's session (only an idle one without --force). */
export const unlockCommand = defineCommand({
  name: COMMANDS.unlock,
  description: "release a stuck migration lock by ending the holder's session (pg_terminate_backend)",
  options: {
    force: flag("--force", "terminate the holder even when it is not idle"),
  },
  async run({ config, options }) {
    const r = await unlock(await config(), { force: options.force });
    return { json: { ...r }, text: () => r.message };
  },
});
