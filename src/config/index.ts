/** Configuration: confiture.yaml, environment variables and flags -> ConfitureConfig. */
export { formatDuration, parseDuration } from "./duration.js";
export { DEFAULT_CONFIG_FILE, loadConfig, requireDatabaseUrl } from "./load.js";
export { describeConfig, redactText, redactUrl } from "./redact.js";
export type { ConfitureConfig, DatabaseUrlSetting, LoadConfigOptions } from "./types.js";
