/** `confiture init [--force]`. */
import { COMMANDS, init } from "../../index.js";
import { defineCommand, flag } from "../spec.js";

/** Scaffold the project and create (or with --force, recreate) the tracking table. */
export const initCommand = defineCommand({
  name: COMMANDS.init,
  example: "confiture init\nconfiture --env staging init --force",
  changesDatabase: () => true,
  description: "scaffold missing project files and create the tracking table",
  options: {
    force: flag("--force", "recreate the tracking table, keeping the old one as <table>_backup"),
  },
  async run({ config, options }) {
    const r = await init(await config(), { force: options.force });
    return {
      json: { ...r },
      text: () => {
        const lines = r.created.map((p) => `created ${p}`);
        if (r.trackingTable === "created") lines.push("created the tracking table");
        else if (r.trackingTable === "exists") lines.push("The tracking table already exists.");
        else if (r.trackingTable === "recreated")
          lines.push(`recreated the tracking table; the previous history is kept in ${r.backupTable}`);
        if (r.note) lines.push(sentence(r.note));
        return lines.join("\n");
      },
    };
  },
});

/** A note from the library as a sentence on stdout: capital first letter, full stop at the end. */
function sentence(note: string): string {
  const text = note.charAt(0).toUpperCase() + note.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
