/** `confiture init [--force]`. */
import type { Command } from "commander";
import { init } from "../../index.js";
import { EXIT } from "../exit-codes.js";
import type { Runner } from "../main.js";

export function registerInitCommand(program: Command, run: Runner): void {
  program
    .command("init")
    .description("scaffold missing project files and create the tracking table")
    .option("--force", "recreate the tracking table, keeping the old one as <table>_backup")
    .action(
      run("init", async ({ out, config }, o) => {
        const r = await init(await config(), { force: (o as { force?: boolean }).force === true });
        out.result("init", { ...r }, () => {
          const lines = r.created.map((p) => `created ${p}`);
          if (r.trackingTable === "created") lines.push("created the tracking table");
          else if (r.trackingTable === "exists") lines.push("the tracking table already exists");
          else if (r.trackingTable === "recreated")
            lines.push(`recreated the tracking table; the previous history is kept in ${r.backupTable}`);
          if (r.note) lines.push(r.note);
          return lines.join("\n");
        });
        return EXIT.ok;
      }),
    );
}
