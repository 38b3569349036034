/**
 * Incident files on disk (a temporary directory, no database): numbers taken at the same
 * moment never collide, and rows logged at the same moment are all kept.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createIncidentFile, editFile, findOpenIncident } from "../../src/incident/files.js";
import { appendTimelineRow } from "../../src/incident/timeline.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "confiture-incidents-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("incident files", () => {
  it("gives reports created at the same moment distinct numbers (exclusive create, retried)", async () => {
    await writeFile(join(dir, "INC-20261125-002.md"), "**Status:** Resolved\n");
    // All of them read the directory before any has written: each must still get its own number.
    const made = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        createIncidentFile(dir, "20261125", (id) => `${id} by writer ${i}\n`),
      ),
    );
    const ids = made.map((m) => m.id).sort();
    expect(ids).toEqual([3, 4, 5, 6, 7, 8, 9, 10].map((n) => `INC-20261125-${String(n).padStart(3, "0")}`));
    for (const m of made)
      expect(await readFile(m.path, "utf8")).toMatch(new RegExp(`^${m.id} by writer \\d\n$`));
    expect(await readFile(join(dir, "INC-20261125-002.md"), "utf8")).toBe("**Status:** Resolved\n");
  });

  it("finds the newest ongoing report, and keeps every row logged at the same moment", async () => {
    const report =
      "**Status:** Ongoing\n\n## Timeline (UTC)\n\n| Time | Event |\n|---|---|\n\n## Root Cause\n";
    await writeFile(join(dir, "INC-20261124-001.md"), report);
    await writeFile(join(dir, "INC-20261125-001.md"), report);
    await writeFile(join(dir, "INC-20261125-002.md"), report.replace("Ongoing", "Resolved"));
    const open = await findOpenIncident(dir);
    expect(open).toBe(join(dir, "INC-20261125-001.md"));
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        editFile(open!, (text) => appendTimelineRow(text, `| 10:0${i} | row ${i} |`)!),
      ),
    );
    const rows = (await readFile(open!, "utf8")).split("\n").filter((l) => l.includes("| row "));
    expect(rows.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `| 10:0${i} | row ${i} |`));
    expect(await readdir(dir)).toHaveLength(3);
    expect(await findOpenIncident(join(dir, "absent"))).toBeUndefined();
  });
});
