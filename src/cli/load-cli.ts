/**
 * Loading the bundled CLI (dist/cli/confiture.cjs, one CommonJS file) with a V8 code cache.
 *
 * Compiling the bundle is a large share of every command's start-up. V8 can save the code it
 * compiled (`Script#createCachedData`) and accept it on the next run instead of compiling again.
 * The cache is only ever an optimisation:
 * - it lives in the user's cache directory (`$XDG_CACHE_HOME/confiture`, else `~/.cache/confiture`),
 *   one file per bundle content, Node version and architecture, so another build never reads it;
 * - V8 checks it again (its own version, flags and the source) and rejects a stale or damaged one,
 *   which is then compiled as if there were no cache and rewritten;
 * - a directory that cannot be read or written means no cache, silently: the command runs the same.
 * `--debug` loads the bundle with plain `require`, so Node applies its source maps to stack traces.
 */
import { hash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import type { main as Main } from "./main.js";

/** The CLI's `main`, and what to call once it has run (saves the cache when there was none). */
export interface LoadedCli {
  main: typeof Main;
  afterRun(): void;
}

const CACHE_PREFIX = "cli-";

/** Load dist/cli/confiture.cjs, from the code cache when there is a valid one. */
export function loadCli(opts: { debug: boolean }): LoadedCli {
  const file = fileURLToPath(new URL("./confiture.cjs", import.meta.url));
  const requireHere = createRequire(file);
  if (opts.debug) return { main: (requireHere(file) as { main: typeof Main }).main, afterRun: () => {} };

  const source = readFileSync(file, "utf8");
  const cacheFile = cachePath(source);
  let cached: Buffer | undefined;
  if (cacheFile !== undefined) {
    try {
      cached = readFileSync(cacheFile);
    } catch {
      cached = undefined; // no cache yet, or not readable: compile
    }
  }
  // The same wrapper Node puts around a CommonJS module, on the source's first line so line
  // numbers in stack traces stay those of the file.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cached === undefined ? {} : { cachedData: cached }),
  });
  const module = { exports: {} as { main: typeof Main } };
  (script.runInThisContext() as (...args: unknown[]) => void)(
    module.exports,
    requireHere,
    module,
    file,
    dirname(file),
  );
  const stale = cached === undefined || script.cachedDataRejected === true;
  return {
    main: module.exports.main,
    afterRun: () => {
      // After the run, so the cache also holds the functions this command compiled.
      if (stale && cacheFile !== undefined) writeCache(cacheFile, script);
    },
  };
}

/** Where the cache for this bundle lives, or undefined when there is no usable cache directory. */
function cachePath(source: string): string | undefined {
  try {
    const xdg = process.env.XDG_CACHE_HOME;
    const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), ".cache");
    const key = hash("sha256", source, "hex").slice(0, 24);
    return join(base, "confiture", `${CACHE_PREFIX}${key}-${process.version}-${process.arch}.v8`);
  } catch {
    return undefined;
  }
}

/** Write the cache atomically (a reader sees the old file or the whole new one); drop older ones. */
function writeCache(cacheFile: string, script: Script): void {
  const dir = dirname(cacheFile);
  const temp = `${cacheFile}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
    renameSync(temp, cacheFile);
    const name = cacheFile.slice(dir.length + 1);
    for (const other of readdirSync(dir)) {
      if (other.startsWith(CACHE_PREFIX) && other !== name) rmSync(join(dir, other), { force: true });
    }
  } catch {
    try {
      rmSync(temp, { force: true });
    } catch {
      // nothing more to do: the next run compiles and tries again
    }
  }
}
