/** `confiture lock status` and `confiture unlock [--force]`. */
import type { Command } from "commander";
import { describeHolder, lockStatus, unlock } from "../../index.js";
import { EXIT } from "../exit-codes.js";
import type { Runner } from "../main.js";

export function registerLockCommands(program: Command, run: Runner): void {
  program
    .command("lock")
    .description("inspect the migration lock")
    .command("status")
    .description("who holds the migration lock: pid, user, host, application, since, current query")
    .action(
      run("lock status", async ({ out, config }) => {
        const r = await lockStatus(await config());
        out.result("lock status", { ...r }, () => {
          if (!r.holder) return `The migration lock (${r.lock}) is free.`;
          const lines = [`The migration lock (${r.lock}) is held by ${describeHolder(r.holder)}`];
          for (const w of r.waiting) lines.push(`  waiting: ${describeHolder(w)}`);
          return lines.join("\n");
        });
        return EXIT.ok;
      }),
    );

  program
    .command("unlock")
    .description("release a stuck migration lock by ending the holder's session (pg_terminate_backend)")
    .option("--force", "terminate the holder even when it is not idle")
    .action(
      run("unlock", async ({ out, config }, o) => {
        const r = await unlock(await config(), { force: (o as { force?: boolean }).force === true });
        out.result("unlock", { ...r }, () => r.message);
        return EXIT.ok;
      }),
    );
}
