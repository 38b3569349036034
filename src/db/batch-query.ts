/**
 * Several statements in one simple-protocol message (one round trip), while still knowing
 * which statement failed: a node-postgres "submittable" (the documented extension point that
 * pg-cursor uses) counts the server's CommandComplete messages, so the statement that raised
 * an error is the one after the last completed.
 */
import { serverFields, toSqlError } from "./pg-errors.js";

/** The part of pg's connection a submittable talks to. */
interface PgConnection {
  query(text: string): void;
  sendCopyFail(message: string): void;
}

export class BatchQuery {
  readonly text: string;
  private completed = 0;
  private readonly texts: string[];
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  readonly done: Promise<void>;

  constructor(texts: string[]) {
    this.texts = texts;
    this.text = texts.join(";\n");
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
  handleCommandComplete(): void {
    this.completed++;
  }
  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail("COPY FROM STDIN cannot be used in a migration");
  }
  handleReadyForQuery(): void {
    this.settle.resolve();
  }
  /** Called once, for a server error or a lost connection; the client then forgets this query. */
  handleError(err: unknown): void {
    const fields = serverFields(err);
    if (!fields) {
      this.settle.reject(err);
      return;
    }
    const index = Math.min(this.completed, this.texts.length - 1);
    let position = fields.position;
    if (position !== undefined) {
      // The server counts characters (code points) from the start of the whole message.
      let start = 0;
      for (let i = 0; i < index; i++) start += [...this.texts[i]!].length + 2; // + ";\n"
      position = position > start ? position - start : undefined;
    }
    this.settle.reject(toSqlError(err, { statementIndex: index, position }));
  }
}
