/**
 * Incident ids, `INC-YYYYMMDD-NNN`: the UTC day the incident was opened and its number that
 * day (001 first, one more than the highest of the day; more digits after 999).
 */

/** The file name of every incident report in `incidents/`. */
const FILE_NAME = /^INC-(\d{8})-(\d{3,})\.md$/;

/** An incident id, optionally with `.md`: what `--incident` accepts besides a path. */
const ID = /^INC-(\d{8})-(\d{3,})(?:\.md)?$/i;

/** An incident file name read back: its id, UTC day (`YYYYMMDD`) and number. */
export interface IncidentName {
  id: string;
  day: string;
  number: number;
}

/**
 * `YYYYMMDD` of `at`, in UTC.
 * @example utcDay(new Date("2026-11-25T23:59:00Z")) // "20261125"
 */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10).replace(/-/g, "");
}

/**
 * The id of the `number`th incident of `day`.
 * @example incidentId("20261125", 2) // "INC-20261125-002"
 */
export function incidentId(day: string, number: number): string {
  return `INC-${day}-${String(number).padStart(3, "0")}`;
}

/**
 * An `incidents/` file name read as an incident, or undefined when it is not one.
 * @example parseIncidentFile("INC-20261125-002.md") // { id: "INC-20261125-002", day: "20261125", number: 2 }
 */
export function parseIncidentFile(name: string): IncidentName | undefined {
  const m = FILE_NAME.exec(name);
  if (!m) return undefined;
  return { id: name.slice(0, -3), day: m[1]!, number: Number(m[2]) };
}

/**
 * What `--incident` named, as an id (upper case, no `.md`), or undefined when it is not an id.
 * @example asIncidentId("inc-20261125-002.md") // "INC-20261125-002"
 */
export function asIncidentId(text: string): string | undefined {
  const m = ID.exec(text.trim());
  return m ? `INC-${m[1]}-${m[2]}` : undefined;
}

/**
 * The number the next incident of `day` gets: one more than the highest among `names`
 * (the files of `incidents/`), 1 when the day has none. Gaps are not reused: a deleted
 * report's number is not given to another incident.
 * @example nextNumber(["INC-20261125-001.md", "INC-20261125-004.md", "notes.md"], "20261125") // 5
 */
export function nextNumber(names: readonly string[], day: string): number {
  let highest = 0;
  for (const name of names) {
    const parsed = parseIncidentFile(name);
    if (parsed && parsed.day === day && parsed.number > highest) highest = parsed.number;
  }
  return highest + 1;
}

/**
 * Incident files newest first: by day, then number (numbers compared as numbers, so 1000
 * comes after 999).
 */
export function newestFirst(names: readonly string[]): IncidentName[] {
  return names
    .map(parseIncidentFile)
    .filter((n): n is IncidentName => n !== undefined)
    .sort((a, b) => (a.day === b.day ? b.number - a.number : a.day < b.day ? 1 : -1));
}
