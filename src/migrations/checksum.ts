/**
 * Migration checksums: SHA-256 (hex) of the `.up.sql` content after stripping a UTF-8 BOM and
 * turning CRLF into LF, so a Git line-ending setting never changes a checksum.
 */
import { hash } from "node:crypto";

/** The text a checksum is computed over: BOM stripped, CRLF -> LF. */
export function normalizeSql(text: string): string {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n/g, "\n");
}

/**
 * SHA-256 hex of normalized migration text.
 *
 * @example checksumOf("create table t();\r\n") === checksumOf("create table t();\n")
 */
export function checksumOf(text: string): string {
  // crypto.hash (one-shot) is several times faster than createHash for small inputs.
  return hash("sha256", normalizeSql(text), "hex");
}
