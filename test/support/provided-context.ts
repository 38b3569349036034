/**
 * Values the global setup hands to test files through vitest's `provide`/`inject`, plus the
 * constants both sides must agree on. Kept apart from global-setup.ts so test files can import
 * it without pulling in the cluster code.
 */

/**
 * Password of the `confiture_test` role on the throwaway cluster. It is a recognizable sentinel
 * so tests can assert it never shows up in CLI output, logs or error messages.
 *
 * @example expect(result.stdout + result.stderr).not.toContain(SENTINEL_PASSWORD);
 */
export const SENTINEL_PASSWORD = "SENTINEL-pw-9f3k";

/** Login role the throwaway cluster creates for the tests (superuser, password auth over TCP). */
export const TEST_ROLE = "confiture_test";

/** Prefix of every database the harness creates; `t_<runId>_` identifies one run's databases. */
export const DATABASE_PREFIX = "t_";

declare module "vitest" {
  export interface ProvidedContext {
    /** postgres://user:password@host:port/postgres — a superuser (or CREATEDB) connection. */
    adminUrl: string;
    /** True when the harness started its own cluster; false when TEST_DATABASE_URL was used. */
    ownsCluster: boolean;
    /** Server bin directory (pg_dump, pg_restore, ...) of the owned cluster, or "" when external. */
    pgBinDir: string;
    /** Random id of this test run; every database created by the run starts with `t_<runId>_`. */
    runId: string;
  }
}
