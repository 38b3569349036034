/** `confiture config show`. */
import type { Command } from "commander";
import { describeConfig } from "../../index.js";
import { EXIT } from "../exit-codes.js";
import type { Runner } from "../main.js";

export function registerConfigCommands(program: Command, run: Runner): void {
  program
    .command("config")
    .description("inspect the configuration")
    .command("show")
    .description("the effective configuration, secrets redacted")
    .action(
      run("config show", async ({ out, config }) => {
        const shown = describeConfig(await config());
        const { stringify } = await import("yaml");
        out.result("config show", { config: shown }, () => stringify(shown).trimEnd());
        return EXIT.ok;
      }),
    );
}
