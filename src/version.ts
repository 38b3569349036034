/**
 * The tool's version, read once from package.json (the one place it is written), so
 * `--version`, `applied_by` and the library agree.
 */
import { readFileSync } from "node:fs";

/** e.g. "0.1.0". src/version.ts and dist/version.js both sit one level below package.json. */
export const TOOL_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
