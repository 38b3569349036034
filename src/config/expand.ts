/**
 * `${VAR}` expansion for string values of confiture.yaml.
 *
 * - `${VAR}` is the variable's value; an unset variable is an error (a set but empty one
 *   expands to "", as in a shell).
 * - `${VAR:-default}` uses `default` when VAR is unset or empty. The default is literal text up
 *   to the first `}`; it is not expanded again.
 * - `$$` is a literal `$`, for the rare password that contains `${`.
 * - A `$` followed by anything else is kept as is, so passwords with a lone `$` need no escape.
 */

/** Why a value could not be expanded. Never carries a variable's value, only its name. */
export type ExpansionProblem =
  | { kind: "unset"; variable: string }
  | { kind: "unterminated" }
  | { kind: "malformed"; reference: string };

export type ExpansionResult = { ok: true; value: string } | { ok: false; problem: ExpansionProblem };

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/**
 * Expand `${VAR}`, `${VAR:-default}` and `$$` in `text` from `env`.
 * @example expandVariables("postgres://${HOST:-localhost}/app", {}) // { ok: true, value: "postgres://localhost/app" }
 */
export function expandVariables(text: string, env: Record<string, string | undefined>): ExpansionResult {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar === -1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === "$") {
      out += "$";
      i = dollar + 2;
      continue;
    }
    if (next !== "{") {
      out += "$";
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf("}", dollar + 2);
    if (close === -1) return { ok: false, problem: { kind: "unterminated" } };
    const reference = text.slice(dollar + 2, close);
    const match = REFERENCE.exec(reference);
    if (match === null) return { ok: false, problem: { kind: "malformed", reference } };
    const variable = match[1] ?? "";
    const fallback = match[2];
    const value = env[variable];
    if (fallback !== undefined) {
      out += value === undefined || value === "" ? fallback : value;
    } else if (value === undefined) {
      return { ok: false, problem: { kind: "unset", variable } };
    } else {
      out += value;
    }
    i = close + 1;
  }
  return { ok: true, value: out };
}

/** True when expanding `text` could change it (it contains a `$`). */
export function hasReferences(text: string): boolean {
  return text.includes("$");
}
