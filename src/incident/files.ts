/**
 * Incident files on disk: `incidents/` under the project directory. A new report is created
 * exclusively (`wx`), so two people opening an incident at the same moment get two numbers
 * and never overwrite each other; a timeline row is added under a lock file and written
 * through a rename, so two rows logged at once are both kept and a reader never sees half a file.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { OperationFailedError } from "../errors.js";
import { incidentId, newestFirst, nextNumber } from "./ids.js";
import { isOngoing } from "./timeline.js";

/** The directory incident reports are written to, under the project directory. */
export const INCIDENTS_DIR = "incidents";

/** How many numbers a new report tries before giving up (each EEXIST means someone took it). */
const CREATE_ATTEMPTS = 1_000;
/** How long `withFileLock` waits for another writer of the same report. */
const LOCK_WAIT_MS = 5_000;
/** A lock file older than this was left by a process that died: it is taken over. */
const STALE_LOCK_MS = 30_000;

/**
 * Write `content(id)` to `incidents/INC-<day>-NNN.md` under the next free number. Returns the
 * id and absolute path.
 */
export async function createIncidentFile(
  dir: string,
  day: string,
  content: (id: string) => string,
): Promise<{ id: string; path: string }> {
  await mkdir(dir, { recursive: true });
  let n = nextNumber(await readdir(dir), day);
  for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++, n++) {
    const id = incidentId(day, n);
    const path = join(dir, `${id}.md`);
    if (await writeExclusive(path, content(id))) return { id, path };
  }
  throw new Error(`no free incident number for ${day} in ${dir} after ${CREATE_ATTEMPTS} attempts`);
}

/** Create `path` with `text`; false when it already exists (nothing is written then). */
export async function writeExclusive(path: string, text: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await handle.writeFile(text, "utf8");
  } finally {
    await handle.close();
  }
  return true;
}

/** The id the next report of `day` would get (for a report written elsewhere with `--out`). */
export async function nextIncidentId(dir: string, day: string): Promise<string> {
  return incidentId(day, nextNumber(await namesIn(dir), day));
}

/** The ids of `incidents/`, newest first (an absent directory has none). */
export async function listIncidents(dir: string): Promise<string[]> {
  return newestFirst(await namesIn(dir)).map((n) => n.id);
}

async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** The newest report whose Status says Ongoing, or undefined. */
export async function findOpenIncident(dir: string): Promise<string | undefined> {
  for (const id of await listIncidents(dir)) {
    const path = join(dir, `${id}.md`);
    if (isOngoing(await readFile(path, "utf8"))) return path;
  }
  return undefined;
}

/**
 * Change a report in place: `edit` gets its text and returns the new text. Serialised with
 * other writers through `<file>.lock`; the new text replaces the file by a rename.
 */
export async function editFile(path: string, edit: (text: string) => string): Promise<void> {
  const lock = `${path}.lock`;
  await takeLock(lock, path);
  try {
    const next = edit(await readFile(path, "utf8"));
    const mode = (await stat(path)).mode & 0o777;
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, next, { encoding: "utf8", mode });
    await rename(temp, path);
  } finally {
    await rm(lock, { force: true });
  }
}

async function takeLock(lock: string, path: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    if (await writeExclusive(lock, `${process.pid}\n`)) return;
    const age = await stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > STALE_LOCK_MS) {
      await rm(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new OperationFailedError(
        "INCIDENT_FILE_BUSY",
        `${path} is being changed by another "confiture incident log" (${lock} exists); try again, or remove ${lock} if no one is writing`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `incidents/` of a project. */
export function incidentsDir(projectDir: string): string {
  return resolve(projectDir, INCIDENTS_DIR);
}
