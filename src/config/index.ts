/** Configuration: confiture.yaml, environment variables and flags -> ConfitureConfig. */
export { describeConfig } from "./describe.js";
export { formatDuration, parseDuration } from "./duration.js";
export { DEFAULT_CONFIG_FILE, loadConfig, requireDatabaseUrl } from "./load.js";
export type { ConfitureConfig, DatabaseUrlSetting, LoadConfigOptions } from "./types.js";
