/** `describeConfig`: the effective configuration as `confiture config show` prints it. */
import { redactDeep, redactUrl } from "../redact/index.js";
import { type AnySettingDefinition, assignAt, SETTING_LIST, valueAt } from "./definition.js";
import { formatDuration } from "./duration.js";
import type { ConfitureConfig, DatabaseUrlSetting } from "./types.js";

/**
 * The effective configuration as a plain snake_case object for `confiture config show`: the
 * same keys as confiture.yaml, durations written as in the file, the URL redacted, plus where the
 * URL came from and which CONFITURE_* variables (names only) were in effect.
 * @example describeConfig(await loadConfig({})).database_url_source // "DATABASE_URL"
 */
export function describeConfig(config: ConfitureConfig): Record<string, unknown> {
  const described: Record<string, unknown> = {
    config_file: config.configPath ?? null,
    project_dir: config.projectDir,
    environment: config.environment ?? null,
  };
  for (const { property, definition } of SETTING_LIST) {
    const value = valueAt(config, property);
    if (definition.kind === "url") {
      describeUrl(described, definition.yaml, value as DatabaseUrlSetting);
    } else {
      assignAt(described, definition.yaml, describeValue(definition, value));
    }
  }
  described.overrides_in_effect = [...config.overridesInEffect];
  // Smoke commands, paths and error messages are free text that may embed a URL: scrub them all.
  return redactDeep(described);
}

/** A setting's value as the file would write it; an unset optional setting is null. */
function describeValue(definition: AnySettingDefinition, value: unknown): unknown {
  if (value === undefined && definition.default === undefined) return null;
  switch (definition.kind) {
    case "duration":
    case "lock-duration":
      return formatDuration(value as number);
    case "commands":
      return [...(value as string[])];
    default:
      return value;
  }
}

/** The URL, redacted, then where it came from and why it could not be expanded: `<key>_source`, `<key>_error`. */
function describeUrl(
  described: Record<string, unknown>,
  yaml: readonly string[],
  database: DatabaseUrlSetting,
): void {
  const key = yaml.join("_");
  assignAt(described, yaml, database.url === undefined ? null : redactUrl(database.url));
  described[`${key}_source`] = database.source ?? null;
  described[`${key}_error`] = database.error === undefined ? null : database.error.message;
}
