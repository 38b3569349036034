/** `confiture config show` and `config backup`. */
import { backupConfig, COMMANDS, describeConfig } from "../../index.js";
import { defineCommand } from "../spec.js";

/** The effective configuration, password redacted. */
export const configShowCommand = defineCommand({
  name: COMMANDS.configShow,
  example: "confiture --env production config show",
  description: "the effective configuration, secrets redacted",
  async run({ config }) {
    const shown = describeConfig(await config());
    // Loaded here, not at start-up: only this command prints YAML.
    const { stringify } = await import("../yaml-text.js");
    return { json: { config: shown }, text: () => stringify(shown).trimEnd() };
  },
});

/** The runbook's configuration backup: confiture.yaml as-is and the variable names in effect. */
export const configBackupCommand = defineCommand({
  name: COMMANDS.configBackup,
  example: "confiture --env production config backup",
  description:
    "copy confiture.yaml (as written, variables unexpanded) and the CONFITURE_* variable names in effect into backup.dir/config/",
  async run({ config }) {
    const r = await backupConfig(await config());
    return {
      json: { ...r },
      text: () =>
        [
          `Wrote ${r.configCopy} (a copy of ${r.source})`,
          `Wrote ${r.namesFile} (${r.variables.length} CONFITURE_* variable name(s) in effect${
            r.variables.length > 0 ? `: ${r.variables.join(", ")}` : ""
          }; names only, never values)`,
        ].join("\n"),
    };
  },
});
