/**
 * `config backup`: the runbook's "Configuration Backups" step. A byte-for-byte copy of
 * confiture.yaml (secrets in it are `${VAR}` references; they are never expanded into the
 * copy) and the names, never the values, of the variables that shaped the configuration, into
 * `<backup.dir>/config/` as `confiture_<UTC time>.yaml` and `confiture_<UTC time>.env-names.txt`.
 */
import { copyFile, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ConfitureConfig } from "../config/index.js";
import { UsageError } from "../errors.js";
import { ensureWritableDir, exists } from "./backup-dir.js";
import { partialName, utcStamp } from "./naming.js";

/** What `config backup` wrote. */
export interface ConfigBackupResult {
  dir: string;
  /** The copy of confiture.yaml. */
  configCopy: string;
  /** The variable names file. */
  namesFile: string;
  /** The file copied. */
  source: string;
  /** The CONFITURE_* variables in effect (names only). */
  variables: string[];
  /** The variables confiture.yaml refers to as `${VAR}` (names only). */
  referenced: string[];
  /** Where the database URL came from (a flag or variable name, or a key), when one is configured. */
  databaseUrlSource: string | null;
  at: string;
}

/**
 * Copy the configuration into `<backup.dir>/config/`. Throws UsageError CONFIG_INVALID when no
 * confiture.yaml was read, BACKUP_DIR_UNUSABLE when the directory cannot be written.
 *
 * @example const { configCopy } = await backupConfig(await loadConfig({}));
 */
export async function backupConfig(config: ConfitureConfig): Promise<ConfigBackupResult> {
  const source = config.configPath;
  if (source === undefined) {
    throw new UsageError(
      `no confiture.yaml in ${config.projectDir} to back up; run the command in the project directory or name the file with --config`,
      "CONFIG_INVALID",
    );
  }
  const dir = join(config.backup.dir, "config");
  await ensureWritableDir(dir, "backup.dir");
  for (let attempt = 0; ; attempt++) {
    const now = new Date();
    const base = `confiture_${utcStamp(now)}`;
    const configCopy = join(dir, `${base}.yaml`);
    const namesFile = join(dir, `${base}.env-names.txt`);
    if ((await exists(configCopy)) || (await exists(namesFile))) {
      if (attempt >= 5) throw new UsageError(`${configCopy} already exists; try again in a second`);
      await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
      continue;
    }
    const variables = [...config.overridesInEffect].sort();
    const databaseUrlSource = config.database.source ?? null;
    const at = now.toISOString();
    const referenced = [
      ...new Set([...(await readFile(source, "utf8")).matchAll(VAR_REFERENCE)].map((m) => m[1]!)),
    ].sort();
    const text = namesText({ at, source, config, variables, referenced, databaseUrlSource });
    await writeAtomically(namesFile, (p) => writeFile(p, text, { mode: 0o600 }));
    try {
      await writeAtomically(configCopy, (p) => copyFile(source, p));
    } catch (err) {
      await rm(namesFile, { force: true });
      throw err;
    }
    return { dir, configCopy, namesFile, source, variables, referenced, databaseUrlSource, at };
  }
}

/** `${VAR}` and `${VAR:-default}` references in confiture.yaml. */
const VAR_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g;

/** Write through a dot-prefixed partial file and a rename: a reader never sees half a file. */
async function writeAtomically(target: string, write: (path: string) => Promise<void>): Promise<void> {
  const partial = join(dirname(target), partialName(basename(target)));
  try {
    await write(partial);
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

function namesText(f: {
  at: string;
  source: string;
  config: ConfitureConfig;
  variables: string[];
  referenced: string[];
  databaseUrlSource: string | null;
}): string {
  return [
    `# Confiture configuration backup, ${f.at}`,
    `# config file: ${f.source}`,
    `# environment: ${f.config.environment ?? "(none selected)"}`,
    `# database URL from: ${f.databaseUrlSource ?? "(not configured)"}`,
    "# CONFITURE_* variables in effect (names only; values are never written):",
    ...f.variables,
    "# variables confiture.yaml refers to (names only):",
    ...f.referenced.map((name) => `# ${name}`),
    "",
  ].join("\n");
}
