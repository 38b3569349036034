/**
 * CLI wiring: global options, the command tree built from the registry, and the one place
 * errors become exit codes (a command's own outcome becomes one in Output.result).
 * Commands are specs in ./commands, listed in ./registry.ts; they use only the public API.
 */
import { Command, CommanderError, Option } from "commander";
import {
  COMMANDS,
  type CommandName,
  type ConfitureConfig,
  ConfitureError,
  ERROR_CODES,
  loadConfig,
  TOOL_VERSION,
  UsageError,
} from "../index.js";
import { Output } from "./output.js";
import { COMMAND_SPECS } from "./registry.js";
import { targetLine } from "./target.js";
import { addCommands } from "./tree.js";

/** Commands that build the expected schema in a scratch database. */
const SCRATCH_USERS = new Set<string>([
  COMMANDS.migrateDriftDetect,
  COMMANDS.migrateSyncHistory,
  COMMANDS.verify,
  COMMANDS.incidentNew,
]);

interface GlobalOptions {
  config: string | undefined;
  env: string | undefined;
  databaseUrl: string | undefined;
  format: string;
  quiet: boolean;
  color: boolean;
  debug: boolean;
}

/** Run the CLI with these arguments; returns the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  let current: { out: Output; command: CommandName; changes: boolean } | undefined;
  // Before commander has parsed anything we still need to know how to report its errors.
  const formatAt = argv.indexOf("--format");
  const early = outputFor({
    format:
      argv.includes("--format=json") || (formatAt >= 0 && argv[formatAt + 1] === "json") ? "json" : "text",
    color: !argv.includes("--no-color"),
    quiet: argv.includes("--quiet") || argv.includes("-q"),
    debug: argv.includes("--debug"),
  });

  // Ctrl-C, or SIGTERM from `kubectl delete job`: say what happened and exit at once. Closing
  // the connection is what makes PostgreSQL roll back the migration that was running.
  const interrupted = (signal: NodeJS.Signals) => {
    const [onSigint, onSigterm] = ERROR_CODES.INTERRUPTED.exitCodes;
    const code = signal === "SIGINT" ? onSigint : onSigterm;
    const what =
      current !== undefined && !current.changes
        ? // A read-only command: nothing to roll back; a scratch database it made is the next run's to drop.
          `interrupted by ${signal}: this command changes nothing in the configured database${
            SCRATCH_USERS.has(current.command)
              ? "; the scratch database it was building (confiture_scratch_...) is dropped by the next run that needs one"
              : ""
          }`
        : `interrupted by ${signal}: PostgreSQL rolls back the migration that was running in a transaction ` +
          '(a no-transaction migration stays recorded as failed); run "confiture migrate status" to see where it stopped';
    (current?.out ?? early).error(new ConfitureError("INTERRUPTED", what), current?.command, code);
    process.exit(code);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);

  const program = new Command("confiture")
    .description("PostgreSQL migrations built around recovery")
    .version(TOOL_VERSION, "-V, --version")
    .option("-c, --config <file>", "configuration file (default: ./confiture.yaml)")
    .option("-e, --env <name>", "environment from confiture.yaml (default: $CONFITURE_ENV)")
    .option("--database-url <url>", "database URL (overrides every other source)")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .option("-q, --quiet", "print only errors")
    .option("--no-color", "disable colors (NO_COLOR is honoured too)")
    .option("--debug", "print stack traces for errors")
    // Every subcommand's --help lists these global options too.
    .configureHelp({ showGlobalOptions: true })
    // No showHelpAfterError: the usage hint is part of the one error line written below.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      // Help shown because of a usage mistake goes to stderr (not in JSON mode); commander's
      // error lines are reported through Output instead, so JSON mode stays one document.
      writeErr: (s) => {
        if (early.opts.format !== "json") process.stderr.write(s);
      },
      outputError: () => {},
    });

  addCommands(program, COMMAND_SPECS, async (spec, input, leaf) => {
    const g = globalOptions(leaf.optsWithGlobals());
    const out = outputFor(g);
    current = { out, command: spec.name, changes: spec.changesDatabase?.(input.options) === true };
    let cached: Promise<ConfitureConfig> | undefined;
    const config = () => {
      cached ??= loadConfig({ configPath: g.config, environment: g.env, databaseUrl: g.databaseUrl });
      return cached;
    };
    if (spec.changesDatabase?.(input.options)) {
      // A config problem is reported by the command itself; here it only means "no line".
      const line = await config().then(targetLine, () => undefined);
      if (line) out.note(line);
    }
    exitCode = out.result(spec.name, await spec.run({ out, config, ...input }));
  });

  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
      if (err.code === "commander.help") {
        // A command group without a subcommand: help was printed to stderr; that is a usage error.
        return (current?.out ?? early).error(
          new UsageError('a command is required (run "confiture --help" for the list)'),
          current?.command,
        );
      }
      const message = err.message.replace(/^error: /, "");
      return (current?.out ?? early).error(
        new UsageError(`${message} (run "confiture --help" for usage)`),
        current?.command,
      );
    }
    return (current?.out ?? early).error(err, current?.command);
  }
}

/** The global options as parsed by commander (every leaf sees them through optsWithGlobals). */
function globalOptions(raw: Record<string, unknown>): GlobalOptions {
  const text = (v: unknown) => (typeof v === "string" ? v : undefined);
  return {
    config: text(raw.config),
    env: text(raw.env),
    databaseUrl: text(raw.databaseUrl),
    format: text(raw.format) ?? "text",
    quiet: raw.quiet === true,
    color: raw.color !== false,
    debug: raw.debug === true,
  };
}

function outputFor(g: { format: string; color: boolean; quiet?: boolean; debug?: boolean }): Output {
  const color = g.color && !process.env.NO_COLOR && process.stdout.isTTY === true && g.format !== "json";
  return new Output({
    format: g.format === "json" ? "json" : "text",
    quiet: g.quiet === true,
    color,
    debug: g.debug === true || process.env.CONFITURE_DEBUG === "1",
  });
}
