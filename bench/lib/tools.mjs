/**
 * The contenders, each as an adapter: write N migrations in the tool's own file format, then
 * describe the commands for "apply", "status", "no-op up", "apply one more" and "version".
 * Every migration is the same small DDL, so the tools differ only in what they do around it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoDir = resolve(benchDir, "..");
const node = process.execPath;

/** `00042` for n = 42: five digits keep 10,000 migrations in order for every tool. */
export const version = (n) => String(n).padStart(5, "0");
/** The migration id every tool's file name starts with: `00042_create_t_42`. */
export const migrationId = (n) => `${version(n)}_create_t_${n}`;

export function migrationUp(n) {
  return (
    `CREATE TABLE t_${n} (id bigint primary key, name text not null, created_at timestamptz default now());\n` +
    `CREATE INDEX ON t_${n} (name);\n`
  );
}
const migrationDown = (n) => `DROP TABLE t_${n};\n`;
const sqlText = (s) => `'${s.replace(/'/g, "''")}'`;

/** Environment for a tool process: ours minus anything that could redirect its connection. */
function toolEnv(extra) {
  const env = { ...process.env, NO_COLOR: "1" };
  for (const k of Object.keys(env)) if (/^PG[A-Z]/.test(k) || k.endsWith("DATABASE_URL")) delete env[k];
  return { ...env, ...extra };
}

/** A file inside bench/node_modules, or undefined when the peers are not installed. */
function resolvePeer(path) {
  const file = join(benchDir, "node_modules", path);
  return existsSync(file) ? file : undefined;
}

/**
 * The built CLI named by the repository's package.json (`bin.confiture`, or `bin` when it is a
 * string), so the bench follows the build wherever it puts the entry point.
 */
export function confitureBin() {
  const pkgFile = join(repoDir, "package.json");
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8"));
  const rel = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.confiture;
  if (typeof rel !== "string" || rel === "") throw new Error(`${pkgFile} has no bin.confiture`);
  return resolve(repoDir, rel);
}

/** Confiture itself, the built CLI, run as `node <bin>`. */
export const confiture = {
  id: "confiture",
  label: "confiture",
  bin: undefined,
  available() {
    let bin;
    try {
      bin = confitureBin();
    } catch (err) {
      return { ok: false, why: err.message };
    }
    if (!existsSync(bin)) return { ok: false, why: `${bin} missing: run "npm run build" first` };
    confiture.bin = bin;
    return { ok: true };
  },
  binPath() {
    confiture.bin ??= confitureBin();
    return confiture.bin;
  },
  write(dir, count) {
    for (let n = 1; n <= count; n++) confiture.writeOne(dir, n);
  },
  writeOne(dir, n) {
    const migrations = join(dir, "db/migrations");
    mkdirSync(migrations, { recursive: true });
    writeFileSync(join(migrations, `${migrationId(n)}.up.sql`), migrationUp(n));
    writeFileSync(join(migrations, `${migrationId(n)}.down.sql`), migrationDown(n));
  },
  cli(dir, url, args) {
    return {
      cmd: node,
      args: [confiture.binPath(), ...args],
      cwd: dir,
      env: toolEnv({ DATABASE_URL: url }),
    };
  },
  apply(dir, url) {
    return confiture.cli(dir, url, ["migrate", "up"]);
  },
  applyOne(dir, url) {
    return confiture.cli(dir, url, ["migrate", "up"]);
  },
  /** SQL that removes migration n's history row (the table itself is dropped by the caller). */
  forgetSql: (n) => `DELETE FROM public.confiture_migrations WHERE version = ${sqlText(migrationId(n))}`,
  status(dir, url) {
    return confiture.cli(dir, url, ["migrate", "status"]);
  },
  noopUp(dir, url) {
    return confiture.cli(dir, url, ["migrate", "up"]);
  },
  version(dir) {
    return { cmd: node, args: [confiture.binPath(), "--version"], cwd: dir, env: toolEnv({}) };
  },
};

/**
 * The Node floor for status: bench/floor.mjs, a plain hand-written script (pg, one query, read
 * and hash every .up.sql, print a line per migration). It reads confiture's tracking table, so
 * it runs in confiture's project directory against confiture's seeded database.
 */
export const nodeFloorScript = {
  id: "node-floor-script",
  label: "Node floor script (bench/floor.mjs)",
  script: join(benchDir, "floor.mjs"),
  available() {
    if (!existsSync(nodeFloorScript.script)) return { ok: false, why: `${nodeFloorScript.script} missing` };
    if (!resolvePeer("pg/package.json"))
      return { ok: false, why: 'pg not installed in bench/: run "npm install --prefix bench"' };
    return { ok: true };
  },
  status(dir, url) {
    return { cmd: node, args: [nodeFloorScript.script], cwd: dir, env: toolEnv({ DATABASE_URL: url }) };
  },
};

/**
 * The floor: psql running one prepared script in one session, each migration as
 * BEGIN; <ddl>; INSERT INTO tracking; COMMIT. No file discovery, no checksums, no locking:
 * the least any tool that commits per migration can do.
 */
export function psqlFloor(binDir) {
  const psql = binDir && existsSync(join(binDir, "psql")) ? join(binDir, "psql") : "psql";
  const run = (dir, url, file) => ({
    cmd: psql,
    args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", join(dir, file), "-o", "/dev/null"],
    cwd: dir,
    env: toolEnv({}),
  });
  const tracking =
    "SET client_min_messages = warning;\n" +
    "CREATE TABLE IF NOT EXISTS floor_migrations (version text primary key, applied_at timestamptz not null default now());\n";
  const one = (n) =>
    `BEGIN;\n${migrationUp(n)}INSERT INTO floor_migrations (version) VALUES (${sqlText(migrationId(n))});\nCOMMIT;\n`;
  return {
    id: "psql-floor",
    label: "psql floor",
    available: () => ({ ok: true }),
    write(dir, count) {
      mkdirSync(dir, { recursive: true });
      const parts = [tracking];
      for (let n = 1; n <= count; n++) parts.push(one(n));
      writeFileSync(join(dir, "apply.sql"), parts.join(""));
      // What any status/up must do at least: read the whole history in one query.
      writeFileSync(
        join(dir, "status.sql"),
        "SELECT version, applied_at FROM floor_migrations ORDER BY version;\n",
      );
      writeFileSync(
        join(dir, "noop-up.sql"),
        `SELECT pg_advisory_lock(4242);\n${tracking}SELECT version FROM floor_migrations ORDER BY version;\nSELECT pg_advisory_unlock(4242);\n`,
      );
    },
    /** Applying one more: the no-op up's work plus the one migration in its own transaction. */
    writeOne(dir, n) {
      writeFileSync(
        join(dir, "apply-one.sql"),
        `SELECT pg_advisory_lock(4242);\n${tracking}SELECT version FROM floor_migrations ORDER BY version;\n${one(n)}SELECT pg_advisory_unlock(4242);\n`,
      );
    },
    apply: (dir, url) => run(dir, url, "apply.sql"),
    applyOne: (dir, url) => run(dir, url, "apply-one.sql"),
    forgetSql: (n) => `DELETE FROM floor_migrations WHERE version = ${sqlText(migrationId(n))}`,
    status: (dir, url) => run(dir, url, "status.sql"),
    noopUp: (dir, url) => run(dir, url, "noop-up.sql"),
    version: undefined,
  };
}

/**
 * node-pg-migrate with SQL migration files (`-- Up Migration` / `-- Down Migration`). By default
 * it wraps ALL pending migrations in one transaction; `perMigration` passes
 * --no-single-transaction so each migration commits on its own, like confiture and the floor.
 */
export function nodePgMigrate({ perMigration }) {
  const bin = resolvePeer("node-pg-migrate/bin/node-pg-migrate.js");
  const extra = perMigration ? ["--no-single-transaction"] : [];
  const cli = (dir, url, args) => ({
    cmd: node,
    args: [bin, ...args, "-m", join(dir, "migrations"), ...extra],
    cwd: dir,
    env: toolEnv({ DATABASE_URL: url }),
  });
  const writeOne = (dir, n) => {
    const migrations = join(dir, "migrations");
    mkdirSync(migrations, { recursive: true });
    writeFileSync(
      join(migrations, `${migrationId(n)}.sql`),
      `-- Up Migration\n${migrationUp(n)}\n-- Down Migration\n${migrationDown(n)}`,
    );
  };
  return {
    id: perMigration ? "node-pg-migrate" : "node-pg-migrate-1tx",
    label: perMigration ? "node-pg-migrate 9" : "node-pg-migrate 9 (default: one transaction for all)",
    available: () =>
      bin
        ? { ok: true }
        : { ok: false, why: 'node-pg-migrate not installed: run "npm install --prefix bench"' },
    write(dir, count) {
      for (let n = 1; n <= count; n++) writeOne(dir, n);
    },
    writeOne,
    apply: (dir, url) => cli(dir, url, ["up"]),
    applyOne: (dir, url) => cli(dir, url, ["up"]),
    // Its history table: public.pgmigrations (id, name, run_on); name is the file name without .sql.
    forgetSql: (n) => `DELETE FROM public.pgmigrations WHERE name = ${sqlText(migrationId(n))}`,
    // node-pg-migrate has no status command.
    status: undefined,
    noopUp: (dir, url) => cli(dir, url, ["up"]),
    version: (dir) => ({ cmd: node, args: [bin, "--version"], cwd: dir, env: toolEnv({}) }),
  };
}

/** The dbmate Go binary shipped inside the npm package (@dbmate/linux-x64 etc). */
export function dbmateBinary() {
  const pkg = `@dbmate/${process.platform === "win32" ? "win32" : process.platform}-${process.arch}`;
  return resolvePeer(`${pkg}/bin/dbmate`);
}

/**
 * dbmate, run as its Go binary directly (the npm `dbmate` command is a Node shim that spawns it;
 * the shim's extra start-up is measured separately in the start-up scenario).
 */
export function dbmate() {
  const bin = dbmateBinary();
  const cli = (dir, url, args) => ({
    cmd: bin,
    args: ["--url", url, "--migrations-dir", join(dir, "db/migrations"), "--no-dump-schema", ...args],
    cwd: dir,
    env: toolEnv({}),
  });
  const writeOne = (dir, n) => {
    const migrations = join(dir, "db/migrations");
    mkdirSync(migrations, { recursive: true });
    writeFileSync(
      join(migrations, `${migrationId(n)}.sql`),
      `-- migrate:up\n${migrationUp(n)}\n-- migrate:down\n${migrationDown(n)}`,
    );
  };
  return {
    id: "dbmate",
    label: "dbmate 2 (Go)",
    available: () =>
      bin
        ? { ok: true }
        : { ok: false, why: `dbmate binary for ${process.platform}-${process.arch} not installed` },
    write(dir, count) {
      for (let n = 1; n <= count; n++) writeOne(dir, n);
    },
    writeOne,
    apply: (dir, url) => cli(dir, url, ["up"]),
    applyOne: (dir, url) => cli(dir, url, ["up"]),
    // Its history table: public.schema_migrations (version); version is the file name's digits.
    forgetSql: (n) => `DELETE FROM public.schema_migrations WHERE version = ${sqlText(version(n))}`,
    status: (dir, url) => cli(dir, url, ["status"]),
    noopUp: (dir, url) => cli(dir, url, ["up"]),
    version: (dir) => ({ cmd: bin, args: ["--version"], cwd: dir, env: toolEnv({}) }),
  };
}

/** Start-up baselines and variants that are not migration tools. */
export function startupExtras() {
  const shim = resolvePeer("dbmate/dist/cli.js");
  const extras = [
    {
      id: "node-floor",
      label: "node -e 0 (Node floor)",
      spec: (dir) => ({ cmd: node, args: ["-e", "0"], cwd: dir, env: toolEnv({}) }),
    },
  ];
  if (shim) {
    extras.push({
      id: "dbmate-npm-shim",
      label: "dbmate --version via npm shim",
      spec: (dir) => ({ cmd: node, args: [shim, "--version"], cwd: dir, env: toolEnv({}) }),
    });
  }
  return extras;
}
