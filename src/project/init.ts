/**
 * `confiture init [--force]`: scaffold what is missing and create the tracking table.
 * `--force` recreates the tracking table but never drops history: the old table is renamed
 * to `<table>_backup` (or `<table>_backup_<UTC timestamp>` if that name is taken).
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { COMMANDS } from "../commands.js";
import type { ConfitureConfig } from "../config/index.js";
import { requireDatabaseUrl } from "../config/index.js";
import { runContext } from "../ops/context.js";
import { executeChange } from "../ops/execute.js";

export interface InitResult {
  created: string[];
  trackingTable: "created" | "exists" | "recreated" | "skipped";
  /** When --force moved old history aside: where it went. */
  backupTable?: string;
  /** Why the database step was skipped. */
  note?: string;
}

const CONFIG_TEMPLATE = `# Confiture configuration. Every value may use \${VAR} or \${VAR:-default}.
# The database URL is taken from --database-url, CONFITURE_DATABASE_URL or DATABASE_URL first;
# uncomment database_url to keep it here instead (never write a password into this file).
# database_url: \${DATABASE_URL}
schema: public
migrations_dir: db/migrations
schema_dir: db/schema
tracking_table: confiture_migrations
lock_timeout: 60s
statement_lock_timeout: 5s
`;

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Scaffold the project and create (or with `force`, recreate) the tracking table.
 *
 * @example
 * const result = await init(config, { force: false });
 */
export async function init(config: ConfitureConfig, opts: { force?: boolean } = {}): Promise<InitResult> {
  const created: string[] = [];
  const configFile = config.configPath ?? path.join(config.projectDir, "confiture.yaml");
  if (!(await exists(configFile))) {
    await writeFile(configFile, CONFIG_TEMPLATE, { flag: "wx" });
    created.push(configFile);
  }
  for (const dir of [config.migrationsDir, config.schemaDir]) {
    if (!(await exists(dir))) {
      await mkdir(dir, { recursive: true });
      created.push(dir);
    }
  }
  if (config.database.url === undefined && config.database.error === undefined) {
    // --force is about the tracking table; without a database it would silently do nothing.
    if (opts.force) requireDatabaseUrl(config);
    return {
      created,
      trackingTable: "skipped",
      note: 'no database configured; set DATABASE_URL (or --database-url) and run "confiture init" again, or let the first "confiture migrate up" create the tracking table',
    };
  }
  type Outcome = Pick<InitResult, "trackingTable" | "backupTable"> & { rowsKept?: number };
  const context = runContext(config, opts.force ? `${COMMANDS.init} --force` : COMMANDS.init);
  let recreate = false;
  const [done] = await executeChange<Outcome>({
    context,
    async prepare({ history }) {
      recreate = opts.force === true && (await history.exists());
      return [
        {
          id: context.tables.trackingTable,
          mode: "transactional",
          async run({ history: h }): Promise<Outcome> {
            if (!recreate) return { trackingTable: (await h.ensure()).created ? "created" : "exists" };
            const { backupTable, rowsKept } = await h.recreateWithBackup();
            return { trackingTable: "recreated", backupTable, rowsKept };
          },
        },
      ];
    },
    audit: {
      // `init --force` on a database without a tracking table only creates one: that is an `init`.
      command: () => (recreate ? `${COMMANDS.init} --force` : COMMANDS.init),
      success: ([ran]) => {
        const r = ran?.result;
        if (r?.trackingTable === "created") return { trackingTable: context.tables.trackingTable };
        if (r?.trackingTable === "recreated") {
          return {
            trackingTable: context.tables.trackingTable,
            backupTable: r.backupTable,
            rowsKept: r.rowsKept,
          };
        }
        return undefined;
      },
      failure: () => ({ trackingTable: context.tables.trackingTable }),
    },
  });
  const r = done!.result;
  return r.trackingTable === "recreated"
    ? { created, trackingTable: "recreated", backupTable: r.backupTable! }
    : { created, trackingTable: r.trackingTable };
}
