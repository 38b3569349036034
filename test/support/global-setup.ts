/**
 * vitest globalSetup: runs once in the main process. Starts a throwaway cluster (or adopts
 * TEST_DATABASE_URL), hands the admin URL to test files via `provide`, and cleans up afterwards.
 * Test files read it with `inject("adminUrl")`, usually through createTestDatabase().
 */
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { type Cluster, startCluster } from "./cluster.js";
import { withClient } from "./pg-client.js";
import { DATABASE_PREFIX } from "./provided-context.js";

type Teardown = () => Promise<void>;

/** Error text for a URL that never includes its password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname} as ${decodeURIComponent(u.username) || "(default user)"}`;
  } catch {
    return "(unparsable URL)";
  }
}

/** On a shared server we cannot delete the cluster, so drop whatever this run left behind. */
async function dropRunDatabases(adminUrl: string, runId: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
      [`${DATABASE_PREFIX}${runId}_`],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  });
}

async function useExternalServer(project: TestProject, url: string, runId: string): Promise<Teardown> {
  try {
    await withClient(url, (client) => client.query("SELECT 1"));
  } catch (err) {
    // pg error messages do not contain the password, but the URL would: describe it instead.
    throw new Error(`TEST_DATABASE_URL: cannot connect to ${describeUrl(url)}: ${(err as Error).message}`);
  }
  project.provide("adminUrl", url);
  project.provide("ownsCluster", false);
  project.provide("pgBinDir", "");
  return () => dropRunDatabases(url, runId);
}

/**
 * vitest's SIGINT/SIGTERM handling calls process.exit() without running globalSetup teardowns,
 * and SIGHUP kills outright; stop the cluster synchronously on all of them.
 */
function stopOnExit(cluster: Cluster): () => void {
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const onExit = (): void => cluster.stop();
  const onSignal = (signal: NodeJS.Signals): void => {
    cluster.stop();
    // Our listener replaced the default action; if nobody else handles it, die as intended.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once("exit", onExit);
  for (const signal of signals) process.once(signal, onSignal);
  return () => {
    process.off("exit", onExit);
    for (const signal of signals) process.off(signal, onSignal);
  };
}

/** Start (or adopt) the server and return the teardown vitest calls after the run. */
export default async function setup(project: TestProject): Promise<Teardown> {
  const runId = randomBytes(4).toString("hex").slice(0, 6);
  project.provide("runId", runId);

  const external = process.env.TEST_DATABASE_URL;
  if (external) return useExternalServer(project, external, runId);

  const cluster = await startCluster();
  const removeHandlers = stopOnExit(cluster);
  project.provide("adminUrl", cluster.adminUrl);
  project.provide("ownsCluster", true);
  project.provide("pgBinDir", cluster.binDir);
  return async () => {
    removeHandlers();
    cluster.stop();
  };
}
