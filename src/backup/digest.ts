/**
 * The SHA-256 of a dump, streamed (a dump may be many gigabytes). A custom-format dump is one
 * file: the hash of its bytes (`sha256Of: "file"`). A directory-format dump is a directory: its
 * files sorted by name (relative path, `/`-separated), each as the line
 * `<name>\0<hex sha256 of its content>\n`, and those lines hashed again
 * (`sha256Of: "directory-listing"`), so it is independent of the order the files were written.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";

/** What `sha256` was computed over. */
export type Sha256Of = "file" | "directory-listing";

/** Hex SHA-256 of one file's content. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/**
 * The dump's SHA-256 as recorded in its metadata, and what it was computed over.
 *
 * @example const { sha256, sha256Of } = await dumpSha256("backups/app_20261125T013000Z.dump");
 */
export async function dumpSha256(path: string): Promise<{ sha256: string; sha256Of: Sha256Of }> {
  if (!(await lstat(path)).isDirectory()) return { sha256: await sha256OfFile(path), sha256Of: "file" };
  const names = (await filesUnder(path, "")).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const listing = createHash("sha256");
  for (const name of names) listing.update(`${name}\0${await sha256OfFile(join(path, name))}\n`);
  return { sha256: listing.digest("hex"), sha256Of: "directory-listing" };
}

async function filesUnder(root: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const name = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await filesUnder(root, name)));
    else out.push(name);
  }
  return out;
}
