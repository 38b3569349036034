/**
 * What a migration's statements mean for how the runner may execute them: statements the
 * server refuses inside a transaction block, statements that would end the runner's own
 * transaction, and the `-- confiture:<name>` directives at the top of the file.
 * Node and field names were checked against libpg-query 17 parse trees (see the unit tests).
 */
import type { SqlStatement } from "./split.js";

/** A statement and a short human name for why it was picked, e.g. "CREATE INDEX CONCURRENTLY". */
export interface StatementFinding {
  statement: SqlStatement;
  reason: string;
}

/** The directives this version understands. */
export const KNOWN_DIRECTIVES = ["no-transaction"] as const;

type Fields = Record<string, unknown>;

/**
 * Statements PostgreSQL refuses inside a transaction block ("... cannot run inside a
 * transaction block"), in file order. Such a file needs `-- confiture:no-transaction`.
 *
 * @param serverVersionNum `server_version_num` of the target; only changes the answer for
 *   `ALTER TYPE ... ADD VALUE`, which is refused before PostgreSQL 12. Unknown means 12+.
 * @example
 * findNonTransactional(await splitSql("CREATE INDEX CONCURRENTLY i ON t (a);"))[0]?.reason;
 * // "CREATE INDEX CONCURRENTLY"
 */
export function findNonTransactional(stmts: SqlStatement[], serverVersionNum?: number): StatementFinding[] {
  const findings: StatementFinding[] = [];
  for (const statement of stmts) {
    const reason = nonTransactionalReason(statement.node, fieldsOf(statement), serverVersionNum);
    if (reason !== undefined) findings.push({ statement, reason });
  }
  return findings;
}

/**
 * Transaction control statements (BEGIN, COMMIT, ROLLBACK, PREPARE TRANSACTION, ...), which
 * would end the transaction the runner wraps each migration in. Savepoints (SAVEPOINT, RELEASE,
 * ROLLBACK TO) work inside that transaction and are allowed. `BEGIN ATOMIC` function bodies and
 * DO blocks are not transaction control and are not reported.
 */
export function findTransactionControl(stmts: SqlStatement[]): StatementFinding[] {
  const findings: StatementFinding[] = [];
  for (const statement of stmts) {
    if (statement.node !== "TransactionStmt") continue;
    const kind = String(fieldsOf(statement).kind ?? "");
    if (SAVEPOINT_KINDS.has(kind)) continue;
    findings.push({ statement, reason: TRANSACTION_KINDS[kind] ?? "transaction control" });
  }
  return findings;
}

/**
 * Statements that open or end the session's own transaction (BEGIN, COMMIT, ROLLBACK,
 * SAVEPOINT, ...), which have no place in a no-transaction migration: each statement there
 * runs on its own, and a transaction left open would be rolled back when the session ends.
 * COMMIT PREPARED / ROLLBACK PREPARED settle another transaction and run outside one, so
 * they are not reported.
 */
export function findSessionTransactionControl(stmts: SqlStatement[]): StatementFinding[] {
  const findings: StatementFinding[] = [];
  for (const statement of stmts) {
    if (statement.node !== "TransactionStmt") continue;
    const kind = String(fieldsOf(statement).kind ?? "");
    if (kind === "TRANS_STMT_COMMIT_PREPARED" || kind === "TRANS_STMT_ROLLBACK_PREPARED") continue;
    findings.push({
      statement,
      reason: TRANSACTION_KINDS[kind] ?? SAVEPOINT_NAMES[kind] ?? "transaction control",
    });
  }
  return findings;
}

const SAVEPOINT_NAMES: Record<string, string> = {
  TRANS_STMT_SAVEPOINT: "SAVEPOINT",
  TRANS_STMT_RELEASE: "RELEASE SAVEPOINT",
  TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO SAVEPOINT",
};

const SAVEPOINT_KINDS = new Set(["TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO"]);

const TRANSACTION_KINDS: Record<string, string> = {
  TRANS_STMT_BEGIN: "BEGIN",
  TRANS_STMT_START: "START TRANSACTION",
  TRANS_STMT_COMMIT: "COMMIT",
  TRANS_STMT_ROLLBACK: "ROLLBACK",
  TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
  TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
  TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
};

/**
 * Reads the directive header: the `-- confiture:<name>` comment lines before the first SQL
 * token. Only blank lines and `--` comment lines may precede them (a UTF-8 BOM too); a
 * directive after a block comment or a statement is an ordinary comment.
 * Spaces are allowed after `--` and after the colon (`--confiture:no-transaction`,
 * `-- confiture: no-transaction`); the word `confiture` is matched in any case so that a
 * misspelt directive is reported in `unknown` instead of being silently ignored.
 *
 * @example
 * parseDirectives("-- confiture:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);");
 * // { noTransaction: true, unknown: [] }
 */
export function parseDirectives(sql: string): { noTransaction: boolean; unknown: string[] } {
  let noTransaction = false;
  const unknown: string[] = [];
  const text = sql.startsWith("\uFEFF") ? sql.slice(1) : sql;
  for (const rawLine of text.split(/\r\n|\r|\n/)) {
    const line = rawLine.trim();
    if (line === "") continue;
    if (!line.startsWith("--")) break;
    const directive = /^--[ \t]*confiture[ \t]*:[ \t]*(.*)$/i.exec(line);
    if (directive === null) continue;
    const name = directive[1] as string;
    if (name === "no-transaction") noTransaction = true;
    else unknown.push(name);
  }
  return { noTransaction, unknown };
}

function nonTransactionalReason(node: string, f: Fields, serverVersionNum?: number): string | undefined {
  switch (node) {
    case "IndexStmt":
      return f.concurrent === true ? "CREATE INDEX CONCURRENTLY" : undefined;
    case "DropStmt":
      return f.concurrent === true ? "DROP INDEX CONCURRENTLY" : undefined;
    case "ReindexStmt":
      return reindexReason(f);
    case "VacuumStmt":
      // ANALYZE is a VacuumStmt too, without is_vacuumcmd, and runs fine in a transaction.
      return f.is_vacuumcmd === true ? "VACUUM" : undefined;
    case "CreatedbStmt":
      return "CREATE DATABASE";
    case "DropdbStmt":
      return "DROP DATABASE";
    case "AlterDatabaseStmt":
      return defElems(f.options).some((d) => d.name === "tablespace")
        ? "ALTER DATABASE ... SET TABLESPACE"
        : undefined;
    case "CreateTableSpaceStmt":
      return "CREATE TABLESPACE";
    case "DropTableSpaceStmt":
      return "DROP TABLESPACE";
    case "AlterSystemStmt":
      return "ALTER SYSTEM";
    case "ClusterStmt":
      return f.relation === undefined ? "CLUSTER without a table name" : undefined;
    case "DiscardStmt":
      return f.target === "DISCARD_ALL" ? "DISCARD ALL" : undefined;
    case "AlterEnumStmt":
      // ADD VALUE has no oldVal (RENAME VALUE has one); refused in a transaction before 12.
      return f.oldVal === undefined && serverVersionNum !== undefined && serverVersionNum < 120000
        ? "ALTER TYPE ... ADD VALUE (before PostgreSQL 12)"
        : undefined;
    case "AlterTableStmt":
      return alterTableCmds(f).some(
        (cmd) => cmd.subtype === "AT_DetachPartition" && isConcurrentPartitionCmd(cmd),
      )
        ? "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"
        : undefined;
    case "CreateSubscriptionStmt":
      return "CREATE SUBSCRIPTION";
    case "DropSubscriptionStmt":
      return "DROP SUBSCRIPTION";
    case "AlterSubscriptionStmt":
      return alterSubscriptionReason(f);
    default:
      return undefined;
  }
}

function reindexReason(f: Fields): string | undefined {
  const concurrently = defElems(f.params).find((d) => d.name === "concurrently");
  if (concurrently !== undefined && defBoolean(concurrently.arg)) return "REINDEX CONCURRENTLY";
  switch (f.kind) {
    case "REINDEX_OBJECT_SCHEMA":
      return "REINDEX SCHEMA";
    case "REINDEX_OBJECT_SYSTEM":
      return "REINDEX SYSTEM";
    case "REINDEX_OBJECT_DATABASE":
      return "REINDEX DATABASE";
    default:
      return undefined;
  }
}

function alterSubscriptionReason(f: Fields): string | undefined {
  const options = defElems(f.options);
  switch (f.kind) {
    case "ALTER_SUBSCRIPTION_REFRESH":
      return "ALTER SUBSCRIPTION ... REFRESH PUBLICATION";
    case "ALTER_SUBSCRIPTION_SET_PUBLICATION":
    case "ALTER_SUBSCRIPTION_ADD_PUBLICATION":
    case "ALTER_SUBSCRIPTION_DROP_PUBLICATION": {
      // refresh defaults to true, and refreshing cannot run in a transaction block.
      const refresh = options.find((d) => d.name === "refresh");
      return refresh === undefined || defBoolean(refresh.arg)
        ? "ALTER SUBSCRIPTION ... PUBLICATION (with refresh)"
        : undefined;
    }
    case "ALTER_SUBSCRIPTION_OPTIONS":
      // Changing the slot's failover / two_phase state cannot be rolled back.
      return options.some((d) => d.name === "failover" || d.name === "two_phase")
        ? "ALTER SUBSCRIPTION ... SET (failover / two_phase)"
        : undefined;
    default:
      return undefined;
  }
}

function fieldsOf(statement: SqlStatement): Fields {
  const ast = statement.ast as Record<string, unknown> | null;
  const fields = ast?.[statement.node];
  return typeof fields === "object" && fields !== null ? (fields as Fields) : {};
}

function alterTableCmds(f: Fields): Fields[] {
  const cmds = Array.isArray(f.cmds) ? f.cmds : [];
  return cmds.map((c) => ((c as Fields).AlterTableCmd ?? {}) as Fields);
}

function isConcurrentPartitionCmd(cmd: Fields): boolean {
  const def = (cmd.def as Fields | undefined)?.PartitionCmd as Fields | undefined;
  return def?.concurrent === true;
}

interface DefElem {
  name: string;
  arg: unknown;
}

function defElems(list: unknown): DefElem[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((item) => {
    const d = (item as Fields).DefElem as Fields | undefined;
    return typeof d?.defname === "string" ? [{ name: d.defname, arg: d.arg }] : [];
  });
}

/**
 * The value of a boolean option the way the server reads it (defGetBoolean): no value means
 * true; otherwise 0/1, or a prefix of true/false/yes/no, or on/off. Anything else is an error
 * at the server; we answer true so that the statement is looked at rather than waved through.
 */
function defBoolean(arg: unknown): boolean {
  if (arg === undefined) return true;
  const node = arg as Fields;
  if (node.Integer !== undefined) return ((node.Integer as Fields).ival ?? 0) !== 0;
  if (node.Boolean !== undefined) return (node.Boolean as Fields).boolval === true;
  let word: unknown;
  if (node.String !== undefined) word = (node.String as Fields).sval;
  else if (node.TypeName !== undefined) {
    const names = (node.TypeName as Fields).names;
    const last = Array.isArray(names) ? (names[names.length - 1] as Fields | undefined) : undefined;
    word = (last?.String as Fields | undefined)?.sval;
  }
  if (typeof word !== "string") return true;
  const w = word.toLowerCase();
  if (w === "0" || w === "off" || w === "of") return false;
  if (w.length > 0 && ("false".startsWith(w) || "no".startsWith(w))) return false;
  return true;
}

/** A table a statement drops: `schema` when the statement names one. */
export interface DroppedTable {
  schema: string | undefined;
  name: string;
}

/**
 * The tables `DROP TABLE` statements remove, as written (`drop table a, app.b`), so a command
 * can say what a rollback will destroy before it runs.
 * @example droppedTables(await splitSql("drop table if exists app.users;")) // [{ schema: "app", name: "users" }]
 */
export function droppedTables(stmts: SqlStatement[]): DroppedTable[] {
  const out: DroppedTable[] = [];
  for (const statement of stmts) {
    if (statement.node !== "DropStmt") continue;
    const fields = fieldsOf(statement);
    if (fields.removeType !== "OBJECT_TABLE") continue;
    for (const object of (fields.objects as unknown[] | undefined) ?? []) {
      const items = ((object as { List?: { items?: unknown[] } }).List?.items ?? []).map(
        (item) => (item as { String?: { sval?: string } }).String?.sval ?? "",
      );
      const name = items.at(-1);
      if (name) out.push({ schema: items.length > 1 ? items.at(-2) : undefined, name });
    }
  }
  return out;
}
