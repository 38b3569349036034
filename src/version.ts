/**
 * The tool's version, from package.json (the one place it is written), so `--version`,
 * `applied_by` and the library agree. The build writes it in (`__CONFITURE_VERSION__`);
 * run from source (tests), it is read from package.json one level up.
 */
import { readFileSync } from "node:fs";

declare const __CONFITURE_VERSION__: string | undefined;

/** e.g. "0.1.0". */
export const TOOL_VERSION: string =
  typeof __CONFITURE_VERSION__ === "string"
    ? __CONFITURE_VERSION__
    : (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
        .version;
