/**
 * `confiture incident log "message"`: a timestamped row at the end of the open incident's
 * Timeline table. Touches no database.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ConfitureConfig } from "../config/index.js";
import { UsageError } from "../errors.js";
import { editFile, findOpenIncident, INCIDENTS_DIR, incidentsDir } from "./files.js";
import { asIncidentId } from "./ids.js";
import { oneLine } from "./text.js";
import { appendTimelineRow, headerValue, timelineRow, timelineTime } from "./timeline.js";

export interface LogIncidentOptions {
  message: string;
  /** An incident id (`INC-20261125-001`) or the path of a report; default: the newest ongoing one. */
  incident?: string | undefined;
  /** The time of the row (default: now). */
  now?: Date | undefined;
}

export interface LogIncidentResult {
  /** The report's id (its Incident ID line), or its file name when it has none. */
  id: string;
  /** Absolute path of the report. */
  path: string;
  /** The Markdown row added. */
  row: string;
}

/**
 * Add a row to an incident's timeline.
 *
 * @example await logIncident(config, { message: "rolled back 004; errors stopped" });
 */
export async function logIncident(
  config: ConfitureConfig,
  opts: LogIncidentOptions,
): Promise<LogIncidentResult> {
  if (oneLine(opts.message ?? "") === "")
    throw new UsageError("the message must not be empty: say what happened");
  const path = await reportPath(config, opts.incident);
  const now = opts.now ?? new Date();
  let added = "";
  let id = "";
  await editFile(path, (text) => {
    id = oneLine(headerValue(text, "Incident ID") ?? "") || path.replace(/^.*[\\/]/, "").replace(/\.md$/, "");
    // The date is left out only when the row is on the day the incident was opened.
    const opened = /^\d{4}-\d{2}-\d{2}$/.test(headerValue(text, "Date") ?? "")
      ? headerValue(text, "Date")!
      : "";
    added = timelineRow(timelineTime(now, opened), opts.message);
    const next = appendTimelineRow(text, added);
    if (next === undefined) {
      throw new UsageError(
        `${path} has no "## Timeline" section to add the row to; add the heading back, or name another report with --incident`,
        "INCIDENT_FILE_INVALID",
      );
    }
    return next;
  });
  return { id, path, row: added };
}

/** The report `--incident` names, or the newest ongoing one. */
async function reportPath(config: ConfitureConfig, named: string | undefined): Promise<string> {
  const dir = incidentsDir(config.projectDir);
  if (named !== undefined) {
    const id = asIncidentId(named);
    const path = id !== undefined ? join(dir, `${id}.md`) : resolve(named);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new UsageError(
        `no incident report ${id ?? oneLine(named)}: ${path} is not a file; "confiture incident new" opens one`,
        "INCIDENT_NOT_FOUND",
      );
    }
    return path;
  }
  const open = await findOpenIncident(dir);
  if (open === undefined) {
    throw new UsageError(
      `no ongoing incident in ${INCIDENTS_DIR}/ (${dir}): open one with "confiture incident new --title T --severity P1..P4", or name a report with --incident`,
      "INCIDENT_NOT_FOUND",
    );
  }
  return open;
}
