/** Admin access to the bench server: fresh databases per trial, and the checks between trials. */
import pg from "pg";

export class Admin {
  constructor(adminUrl, { forceSslDisable }) {
    this.adminUrl = adminUrl;
    this.forceSslDisable = forceSslDisable;
    this.created = new Set();
  }

  async query(sql, params, database) {
    const client = new pg.Client({ connectionString: database ? this.urlFor(database) : this.adminUrl });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  }

  /**
   * URL of `database` on the bench server. sslmode=disable on our own cluster (it has no TLS, and
   * dbmate's driver defaults to requiring it); every tool gets the identical URL.
   */
  urlFor(database) {
    const u = new URL(this.adminUrl);
    u.pathname = `/${encodeURIComponent(database)}`;
    if (this.forceSslDisable || !u.searchParams.has("sslmode")) u.searchParams.set("sslmode", "disable");
    return u.toString();
  }

  /** Create an empty database (from template0) and return its URL. */
  async create(name, { settings = {} } = {}) {
    await this.drop(name);
    await this.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE template0`);
    this.created.add(name);
    for (const [k, v] of Object.entries(settings)) {
      await this.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} SET ${k} = ${pg.escapeLiteral(v)}`);
    }
    return this.urlFor(name);
  }

  async resetSettings(name) {
    await this.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} RESET ALL`);
  }

  async drop(name) {
    await this.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    this.created.delete(name);
  }

  async dropAll() {
    for (const name of [...this.created]) await this.drop(name).catch(() => {});
  }

  /** Flush dirty buffers now, so no checkpoint lands inside the next timed run. */
  async checkpoint() {
    await this.query("CHECKPOINT").catch(() => {}); // needs superuser/pg_checkpoint on external servers
  }

  /** How many of the bench tables `t_<n>` exist: proof that a tool really applied its migrations. */
  async countBenchTables(database) {
    const r = await this.query(
      "SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace " +
        "WHERE s.nspname = 'public' AND c.relkind = 'r' AND c.relname ~ '^t_[0-9]+$'",
      [],
      database,
    );
    return r.rows[0].n;
  }

  async serverVersion() {
    const r = await this.query("SELECT current_setting('server_version') AS v");
    return r.rows[0].v;
  }
}
