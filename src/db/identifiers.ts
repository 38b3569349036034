/**
 * The one place SQL identifiers are quoted. Every identifier that comes from config or the
 * catalog goes through `quoteIdent`; values always go as query parameters.
 */

/** Quote an identifier for PostgreSQL: `users` -> `"users"`, `a"b` -> `"a""b"`. */
export function quoteIdent(name: string): string {
  if (name.includes("\u0000")) throw new Error("identifier contains a NUL byte");
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table`, both quoted. */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** Quote a string literal (only for statements that cannot take parameters, e.g. SET). */
export function quoteLiteral(value: string): string {
  if (value.includes("\u0000")) throw new Error("literal contains a NUL byte");
  return `'${value.replace(/'/g, "''")}'`;
}
