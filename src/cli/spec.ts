/**
 * What a command is: one typed declaration per command (name, arguments, options, run). The
 * command tree (./tree.ts), the JSON `command` field and the exit code are all derived from
 * it, so a name is written once (in COMMANDS) and options reach `run` typed as declared.
 */
import type { CommandName, ConfitureConfig } from "../index.js";
import type { CommandOutcome, Output } from "./output.js";

/** How an option takes its value: a boolean switch, an optional value, or a mandatory value. */
export type OptionKind = "flag" | "negatable" | "value" | "required";

/** One declared option: commander's flags string and help text; `kind` decides its type in `run`. */
export interface OptionDecl<K extends OptionKind = OptionKind> {
  readonly kind: K;
  /** Commander flags, e.g. `--dry-run` or `--target <id>`. */
  readonly flags: string;
  readonly description: string;
}

/**
 * A switch: `true` when given, `false` otherwise.
 * @example flag("--dry-run", "run inside a transaction that is rolled back")
 */
export function flag(flags: string, description: string): OptionDecl<"flag"> {
  return { kind: "flag", flags, description };
}

/**
 * A switch that is on unless turned off: `--x` (accepted, the default) and `--no-x` (false).
 * @example negatable("--verify-checksums", "refuse to start when an applied file changed (the default)")
 */
export function negatable(flags: string, description: string): OptionDecl<"negatable"> {
  return { kind: "negatable", flags, description };
}

/**
 * An option with a value: the string given, or `undefined`.
 * @example value("--target <id>", "apply up to and including this migration")
 */
export function value(flags: string, description: string): OptionDecl<"value"> {
  return { kind: "value", flags, description };
}

/**
 * An option that must be given (commander reports a missing one as a usage error): a string.
 * @example required("--through <id>", "the last migration to mark")
 */
export function required(flags: string, description: string): OptionDecl<"required"> {
  return { kind: "required", flags, description };
}

/** A command's options, keyed by the attribute name commander gives them (`--dry-run` -> `dryRun`). */
export type OptionDecls = Readonly<Record<string, OptionDecl>>;

/** A command's positional arguments in order: `<x>` is required, `[x]` optional. */
export type ArgDecls = Readonly<Record<string, `<${string}>` | `[${string}]`>>;

// Distributive on purpose: for the erased OptionDecls the value is boolean | string | undefined.
type ValueOf<K extends OptionKind> = K extends "flag" | "negatable"
  ? boolean
  : K extends "required"
    ? string
    : string | undefined;

/** The parsed options as `run` receives them. */
export type OptionValues<O extends OptionDecls> = { readonly [K in keyof O]: ValueOf<O[K]["kind"]> };

/** The parsed positional arguments as `run` receives them. */
export type ArgValues<A extends ArgDecls> = {
  readonly [K in keyof A]: A[K] extends `<${string}>` ? string : string | undefined;
};

/** What `run` receives. */
export interface CommandContext<O extends OptionDecls, A extends ArgDecls> {
  /** For progress and warnings while running; the result itself is returned, not printed. */
  out: Output;
  /** Loads confiture.yaml + environment + flags (lazily: some commands need none of it). */
  config(): Promise<ConfitureConfig>;
  options: OptionValues<O>;
  args: ArgValues<A>;
}

type NoDecls = Readonly<Record<never, never>>;

/** One CLI command, declared once. */
export interface CommandSpec<O extends OptionDecls = OptionDecls, A extends ArgDecls = ArgDecls> {
  /** A value of COMMANDS: split on spaces into the commander path, and the JSON `command` field. */
  name: CommandName;
  /** One line for `--help`. */
  description: string;
  /**
   * One or more typical invocations shown at the end of the command's `--help`, one per line,
   * written as typed at a shell (starting with `confiture`).
   */
  example: string;
  arguments?: A;
  options?: O;
  /**
   * True when this invocation changes a database or its history (not a dry run): the CLI then
   * names the target database on stderr before it runs.
   */
  changesDatabase?(options: OptionValues<O>): boolean;
  /**
   * Do the work and return what to show; throw typed errors for failures. A method (not a
   * function property) so that specs with different options fit one registry list.
   */
  run(ctx: CommandContext<O, A>): Promise<CommandOutcome>;
}

/**
 * Declare a command; only infers the option and argument types for `run`.
 * @example defineCommand({ name: COMMANDS.unlock, description: "...", options: { force: flag("--force", "...") },
 *   async run({ options }) { ... } })
 */
export function defineCommand<O extends OptionDecls = NoDecls, A extends ArgDecls = NoDecls>(
  spec: CommandSpec<O, A>,
): CommandSpec<O, A> {
  return spec;
}
