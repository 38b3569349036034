/** Edits a redaction pass returns, and applying them: replacements sorted and not overlapping. */

/** The redacted form of a value. */
export const HIDDEN = "***";
/** The redacted form of an SQL password literal. */
export const HIDDEN_LITERAL = "'***'";

/** Replace `text[from, to)` with `by`. A pass returns its edits sorted and not overlapping. */
export interface Edit {
  from: number;
  to: number;
  by: string;
}

export function applyEdits(text: string, edits: readonly Edit[]): string {
  if (edits.length === 0) return text;
  const parts: string[] = [];
  let copied = 0;
  for (const e of edits) {
    parts.push(text.slice(copied, e.from), e.by);
    copied = e.to;
  }
  parts.push(text.slice(copied));
  return parts.join("");
}

/**
 * Where the characters at `positions` (ascending) are once `edits` are applied; -1 for one an
 * edit replaces. One merge over both lists.
 */
export function mapPositions(positions: readonly number[], edits: readonly Edit[]): number[] {
  const mapped: number[] = [];
  let shift = 0;
  let e = 0;
  for (const p of positions) {
    while (e < edits.length && edits[e]!.to <= p) {
      shift += edits[e]!.by.length - (edits[e]!.to - edits[e]!.from);
      e++;
    }
    if (p < 0 || (e < edits.length && edits[e]!.from <= p)) mapped.push(-1);
    else mapped.push(p + shift);
  }
  return mapped;
}
