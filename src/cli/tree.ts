/**
 * The command tree, built from the registry: a command's name is split on spaces into its
 * commander path (`migrate up` -> group `migrate`, leaf `up`), its arguments and options are
 * added in declaration order, and its action reads them back typed as the spec declared them.
 */
import type { Command, Option } from "commander";
import type { ArgValues, CommandSpec, OptionDecl, OptionValues } from "./spec.js";

/** Help text of the command groups: the leading words of multi-word command names. */
const GROUPS: Readonly<Record<string, string>> = {
  migrate: "apply, roll back and inspect migrations",
  lock: "inspect the migration lock",
  config: "inspect the configuration, or copy it into the backup directory",
  health: "how the database and its migrations are doing",
  incident: "incident reports: open one with evidence, add to its timeline",
  backup: "pg_dump backups with metadata: create, list, prune, verify by restoring",
  pitr: "point-in-time recovery: WAL archiving status, base backups, preparing a recovery",
};

/** A leaf's parsed arguments and options, as its spec's `run` receives them. */
export interface CommandInput {
  options: OptionValues<NonNullable<CommandSpec["options"]>>;
  args: ArgValues<NonNullable<CommandSpec["arguments"]>>;
}

/** Called by a leaf's action with its spec, its typed input and the commander leaf itself. */
export type RunSpec = (spec: CommandSpec, input: CommandInput, leaf: Command) => Promise<void>;

/**
 * Add one commander command per spec under `program`, creating groups on first use (so help
 * lists commands in registry order). A group has no action: run bare, commander shows its help
 * as an error, which main reports as a usage error.
 * Throws a plain Error for a programming mistake in a spec (unknown group, option key that is
 * not commander's attribute name, flag/value mismatch).
 */
export function addCommands(program: Command, specs: readonly CommandSpec[], runSpec: RunSpec): void {
  for (const spec of specs) {
    const path = spec.name.split(" ");
    const leafName = path.pop()!;
    let parent = program;
    for (const word of path) parent = group(parent, word, spec);
    const leaf = parent.command(leafName).description(spec.description);
    for (const arg of Object.values(spec.arguments ?? {})) leaf.argument(arg);
    for (const [key, decl] of Object.entries(spec.options ?? {}))
      for (const opt of commanderOptions(leaf, key, decl, spec)) leaf.addOption(opt);
    leaf.addHelpText("after", `\n${exampleHelp(spec.example)}`);
    leaf.action(() => runSpec(spec, readInput(spec, leaf), leaf));
  }
}

/** The spec's example(s) under an `Example:` heading, indented like commander's own sections. */
function exampleHelp(example: string): string {
  const lines = example.trim().split("\n");
  return `${lines.length > 1 ? "Examples" : "Example"}:\n${lines.map((l) => `  $ ${l.trim()}`).join("\n")}`;
}

function group(parent: Command, word: string, spec: CommandSpec): Command {
  const existing = parent.commands.find((c) => c.name() === word);
  if (existing) return existing;
  const description = GROUPS[word];
  if (description === undefined) throw new Error(`${spec.name}: no description for command group "${word}"`);
  return parent.command(word).description(description);
}

// Same as commander's .option()/.requiredOption(), plus the check that the spec's key is the
// name commander stores the value under: otherwise `run` would silently read undefined.
// A negatable switch is the pair `--x` / `--no-x`, both stored under the same key.
function commanderOptions(leaf: Command, key: string, decl: OptionDecl, spec: CommandSpec): Option[] {
  const opts = [leaf.createOption(decl.flags, decl.description)];
  if (decl.kind === "negatable") {
    opts.push(leaf.createOption(decl.flags.replace(/^--/, "--no-"), `turn off: ${decl.flags}`));
  }
  for (const opt of opts) {
    if (decl.kind === "required") opt.makeOptionMandatory();
    if (opt.attributeName() !== key)
      throw new Error(
        `${spec.name}: option "${opt.flags}" is stored as "${opt.attributeName()}", not "${key}"`,
      );
    if ((decl.kind === "flag" || decl.kind === "negatable") !== (opt.isBoolean() || opt.negate))
      throw new Error(
        `${spec.name}: option "${decl.flags}" is declared as a ${decl.kind} but its flags say otherwise`,
      );
  }
  return opts;
}

function readInput(spec: CommandSpec, leaf: Command): CommandInput {
  const raw: Record<string, unknown> = leaf.opts();
  const options: Record<string, string | boolean | undefined> = {};
  for (const [key, decl] of Object.entries(spec.options ?? {})) {
    const v = raw[key];
    options[key] =
      decl.kind === "flag"
        ? v === true
        : decl.kind === "negatable"
          ? v !== false
          : typeof v === "string"
            ? v
            : undefined;
  }
  const values: unknown[] = leaf.processedArgs;
  const args: Record<string, string | undefined> = {};
  for (const [i, key] of Object.keys(spec.arguments ?? {}).entries()) {
    const v = values[i];
    args[key] = typeof v === "string" ? v : undefined;
  }
  return { options, args };
}
