/** Temporary project directories: a confiture.yaml and db/migrations/, like a user's repository. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A temporary project directory. */
export interface TestProject {
  /** Absolute path of the project root. */
  dir: string;
  /** Write a file relative to the root, creating parent directories. */
  write(rel: string, content: string): Promise<void>;
  /** Absolute path of `rel` inside the project. */
  path(rel: string): string;
  /** Remove the directory and everything in it. */
  cleanup(): Promise<void>;
}

/** What to put in a new project. */
export interface ProjectOptions {
  /** confiture.yaml text; when omitted no config file is written. */
  config?: string;
  /** Files for db/migrations/, filename -> content. */
  migrations?: Record<string, string>;
}

/**
 * Create a temp project with db/migrations/ (always) and the given config and migrations.
 *
 * @example
 * const project = await makeProject({ config: "database_url: ${DATABASE_URL}\n",
 *   migrations: { "001_users.sql": "CREATE TABLE users (id int);" } });
 */
export async function makeProject(opts: ProjectOptions = {}): Promise<TestProject> {
  const dir = await mkdtemp(join(tmpdir(), "confiture-project-"));
  const path = (rel: string): string => join(dir, rel);
  const write = async (rel: string, content: string): Promise<void> => {
    await mkdir(dirname(path(rel)), { recursive: true });
    await writeFile(path(rel), content);
  };
  await mkdir(path("db/migrations"), { recursive: true });
  if (opts.config !== undefined) await write("confiture.yaml", opts.config);
  for (const [name, content] of Object.entries(opts.migrations ?? {})) {
    await write(join("db/migrations", name), content);
  }
  return { dir, write, path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
