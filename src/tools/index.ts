/**
 * The one way Confiture runs PostgreSQL's own programs (pg_dump, pg_restore, pg_basebackup,
 * psql, initdb, pg_ctl): found and version-checked, connected through libpq's environment
 * (never argv), output streamed, stderr redacted, cancellable, never outliving the process.
 *
 * @example
 * import { runTool } from "./tools/index.js";
 * await runTool("pg_dump", ["--format=custom", "--no-password"], {
 *   connection: url, minMajor: serverMajor, stdout: { file: "db.dump" }, signal,
 * });
 */
export {
  defaultSearchPath,
  type FindToolOptions,
  type FoundTool,
  findTool,
  type ToolName,
} from "./find-tool.js";
export { connectionEnv, type ToolConnection, type ToolConnectionParts } from "./libpq-env.js";
export { type RunToolOptions, runTool, type ToolResult } from "./run-tool.js";
export type { ToolInput, ToolOutput } from "./tool-io.js";
export { parseToolVersion, readToolVersion, type ToolVersion } from "./tool-version.js";
