/** `confiture config show`. */
import { COMMANDS, describeConfig } from "../../index.js";
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
