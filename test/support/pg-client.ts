/** The one short-lived-connection helper the harness uses, in both the main process and workers. */
import pg from "pg";

/**
 * Open a client on `url`, run `fn`, always close it.
 *
 * @example const n = await withClient(url, async (c) => (await c.query("SELECT 1 AS n")).rows[0].n);
 */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  // A terminated session (a dropped database, a stopped server) surfaces as a rejected query;
  // without a listener the same event would also crash the test worker as an uncaught error.
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
