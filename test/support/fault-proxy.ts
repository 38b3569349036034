/**
 * A TCP fault proxy for end-to-end tests: it sits on 127.0.0.1 between the CLI and the test
 * server, forwards each client connection to its own upstream connection, and can, for a chosen
 * connection (or all of them):
 *
 * - `cut`: destroy both sockets once a given number of bytes has passed in one direction, or
 *   right after a chosen client message was forwarded;
 * - `drop-reply`: forward a chosen client message, discard everything the server sends from
 *   then on, and after a short delay destroy both sockets;
 * - `stall`: stop forwarding in both directions (the sockets stay open, nothing more is read)
 *   after a number of bytes or after a chosen client message was forwarded.
 *
 * It understands just enough of the PostgreSQL protocol to find message boundaries: frontend
 * messages are a 1-byte type + int32 length, except the startup message, SSLRequest,
 * GSSENCRequest and CancelRequest (int32 length + int32 code). An SSLRequest is passed through
 * (the test server answers 'N'); after an 'S' answer the stream is TLS and no longer parsed.
 * Backend messages are parsed only to notice the first ReadyForQuery (authentication done).
 *
 * @example
 * const proxy = await startFaultProxy(db.url, {
 *   fault: { action: "drop-reply", at: { message: queryContaining("create table t2") } },
 * });
 * const r = await runCli(["migrate", "up"], { cwd, env: { DATABASE_URL: proxy.url } });
 * await proxy.close();
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** `c2s`: client to server; `s2c`: server to client. */
export type Direction = "c2s" | "s2c";

/** One message the client sent, as the proxy saw it. */
export interface ClientMessage {
  /** 1-based position among all messages the client sent on this connection (startup included). */
  index: number;
  /** The type byte as a character (`Q`, `P`, `B`, `E`, `S`, `X`, `p`, ...), or `startup`, `ssl-request`, `gss-request`, `cancel`. */
  type: string;
  /** The SQL of a Query (`Q`) or Parse (`P`) message. */
  text?: string;
  /** Whole message length in bytes (type byte included). */
  length: number;
  /** True when the server had already sent its first ReadyForQuery (the session was authenticated). */
  afterAuth: boolean;
  /** 1-based position among messages sent after authentication, 0 before. */
  indexAfterAuth: number;
  /** Offset in the client-to-server stream just past this message. */
  endOffset: number;
}

/** Which client message triggers a fault: its 1-based index, or a predicate. */
export type MessageMatcher = number | ((message: ClientMessage) => boolean);

/** When a fault fires. */
export type FaultTrigger =
  /** Once `bytes` bytes have passed in `direction` (exactly that many are forwarded). */
  | { afterBytes: number; direction: Direction }
  /**
   * Right after the first client message matching `message` was forwarded to the server, or with
   * `before`, just before it (nothing of it is forwarded; not for drop-reply). While such a
   * trigger is armed, client bytes are forwarded a whole message at a time.
   */
  | { message: MessageMatcher; before?: boolean };

export interface Fault {
  /**
   * Which client connection it applies to: 1-based index (counted since the proxy started), "all",
   * or a predicate on the index. Default 1. The first fault that applies to a connection is used.
   */
  connection?: number | "all" | ((index: number) => boolean);
  action: "cut" | "drop-reply" | "stall";
  at: FaultTrigger;
  /** drop-reply: how long after forwarding the message both sockets are destroyed. Default 300 ms. */
  closeAfterMs?: number;
  /** cut / drop-reply: reset the client connection (TCP RST) instead of closing it. Default false. */
  reset?: boolean;
}

/** What happened on one client connection. */
export interface ConnectionRecord {
  /** 1-based, in the order connections were accepted. */
  index: number;
  /** Bytes forwarded in each direction (discarded or held-back bytes are not counted). */
  bytes: Record<Direction, number>;
  /** Server bytes discarded by drop-reply. */
  discarded: number;
  /** Every client message seen (including ones received after a fault and never forwarded). */
  messages: ClientMessage[];
  /** The fault that fired on this connection, with what triggered it, or undefined. */
  fired?: { action: Fault["action"]; at: Date; message?: ClientMessage; direction?: Direction };
  /** True once both sockets are closed. */
  closed: boolean;
  /** Socket errors seen (ECONNRESET, EPIPE, ...), for diagnostics. */
  errors: string[];
}

export interface FaultProxy {
  /** The target URL with host and port replaced by the proxy's. */
  readonly url: string;
  readonly port: number;
  /** One record per accepted client connection, in order. */
  readonly connections: ConnectionRecord[];
  /** Replace the faults (applies to connections accepted and data arriving from now on). */
  setFaults(faults: Fault | Fault[] | undefined): void;
  /** Resolves with the connection on which a fault fired first (rejects after `timeoutMs`). */
  waitForFault(timeoutMs?: number): Promise<ConnectionRecord>;
  /** A one-line summary of every connection (bytes, messages, fault), for failure messages. */
  describe(): string;
  /** Destroy every socket and stop listening. Safe to call twice. */
  close(): Promise<void>;
}

/** Matches a Query or Parse message whose SQL contains `fragment` (case-insensitive). */
export function queryContaining(fragment: string): (m: ClientMessage) => boolean {
  const needle = fragment.toLowerCase();
  return (m) => (m.type === "Q" || m.type === "P") && (m.text ?? "").toLowerCase().includes(needle);
}

/**
 * Matches the message that completes a query the server will then run: a Query (`Q`) whose SQL
 * satisfies `test`, or the Sync (`S`) that follows a Parse (`P`) whose SQL does (extended
 * protocol: Parse, Bind, Describe, Execute, Sync). A fault there hits after the server got the
 * whole request, e.g. while it takes a lock whose answer then never arrives. Stateful: make a
 * new one per connection you want to match.
 */
export function completeQuery(test: string | ((sql: string) => boolean)): (m: ClientMessage) => boolean {
  const matches =
    typeof test === "string" ? (sql: string) => sql.toLowerCase().includes(test.toLowerCase()) : test;
  let parsed = false;
  return (m) => {
    if (m.type === "Q") return matches(m.text ?? "");
    if (m.type === "P") parsed = matches(m.text ?? "");
    else if (m.type === "S" && parsed) return true;
    return false;
  };
}

/** Matches the `k`-th (1-based) client message sent after authentication. */
export function afterAuthMessage(k: number): (m: ClientMessage) => boolean {
  return (m) => m.indexAfterAuth === k;
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/** Incremental parser of the frontend stream; returns completed messages with their end in the chunk. */
class FrontendParser {
  private pending: Buffer = Buffer.alloc(0);
  private startupPhase = true;
  private offset = 0;
  private count = 0;
  private countAfterAuth = 0;
  /** Set after an SSLRequest/GSSENCRequest: the server answers with one unframed byte. */
  expectNegotiationByte = false;
  opaque = false;

  feed(chunk: Buffer, authenticated: () => boolean): Array<{ message: ClientMessage; endInChunk: number }> {
    const out: Array<{ message: ClientMessage; endInChunk: number }> = [];
    const chunkStart = this.offset;
    this.offset += chunk.length;
    if (this.opaque) return out;
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    // Absolute stream offset of pending[0].
    let base = this.offset - this.pending.length;
    for (;;) {
      const headerLength = this.startupPhase ? 0 : 1;
      if (this.pending.length < headerLength + 4) break;
      const length = this.pending.readInt32BE(headerLength);
      const total = headerLength + length;
      if (length < 4) {
        // Not a protocol stream we understand; stop parsing rather than guess.
        this.opaque = true;
        this.pending = Buffer.alloc(0);
        break;
      }
      if (this.pending.length < total) break;
      const body = this.pending.subarray(headerLength + 4, total);
      let type: string;
      let text: string | undefined;
      if (this.startupPhase) {
        const code = body.length >= 4 ? body.readInt32BE(0) : 0;
        if (code === SSL_REQUEST || code === GSS_REQUEST) {
          type = code === SSL_REQUEST ? "ssl-request" : "gss-request";
          this.expectNegotiationByte = true;
        } else if (code === CANCEL_REQUEST) {
          type = "cancel";
        } else {
          type = "startup";
          this.startupPhase = false;
        }
      } else {
        type = String.fromCharCode(this.pending[0]!);
        if (type === "Q") text = cString(body, 0);
        else if (type === "P") {
          const nameEnd = body.indexOf(0);
          text = nameEnd >= 0 ? cString(body, nameEnd + 1) : undefined;
        }
      }
      this.count++;
      const afterAuth = authenticated();
      if (afterAuth) this.countAfterAuth++;
      const endOffset = base + total;
      out.push({
        message: {
          index: this.count,
          type,
          ...(text !== undefined ? { text } : {}),
          length: total,
          afterAuth,
          indexAfterAuth: afterAuth ? this.countAfterAuth : 0,
          endOffset,
        },
        endInChunk: endOffset - chunkStart,
      });
      this.pending = this.pending.subarray(total);
      base += total;
    }
    if (this.pending.length) this.pending = Buffer.from(this.pending); // do not pin the whole chunk
    return out;
  }
}

/** Incremental parser of the backend stream, only to notice ReadyForQuery. */
class BackendParser {
  private pending: Buffer = Buffer.alloc(0);
  opaque = false;
  readySeen = false;

  feed(chunk: Buffer, frontend: FrontendParser): void {
    if (this.opaque || this.readySeen) return;
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (frontend.expectNegotiationByte && data.length > 0) {
      frontend.expectNegotiationByte = false;
      if (data[0] === 0x53 /* 'S' */ || data[0] === 0x47 /* 'G' */) {
        // Encrypted from here on: nothing more to parse in either direction.
        this.opaque = true;
        frontend.opaque = true;
        return;
      }
      data = data.subarray(1);
    }
    for (;;) {
      if (data.length < 5) break;
      const length = data.readInt32BE(1);
      if (length < 4) {
        this.opaque = true;
        return;
      }
      if (data.length < 1 + length) break;
      if (data[0] === 0x5a /* 'Z' */) {
        this.readySeen = true;
        this.pending = Buffer.alloc(0);
        return;
      }
      data = data.subarray(1 + length);
    }
    this.pending = Buffer.from(data);
  }
}

function cString(buf: Buffer, start: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString("utf8", start, end >= 0 ? end : buf.length);
}

/** The database URL with host and port replaced. */
function proxiedUrl(targetUrl: string, port: number): string {
  const u = new URL(targetUrl);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.toString();
}

/**
 * Start a proxy in front of the server `targetUrl` points at (its host and port; default 5432).
 * Faults can be given now or later with `setFaults`.
 */
export async function startFaultProxy(
  targetUrl: string,
  opts: { faults?: Fault | Fault[] } = {},
): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const targetHost = target.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  const targetPort = Number(target.port || 5432);
  let faults: Fault[] = [];
  const setFaults = (f: Fault | Fault[] | undefined) => {
    faults = f === undefined ? [] : Array.isArray(f) ? [...f] : [f];
  };
  setFaults(opts.faults);

  const connections: ConnectionRecord[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const faultWaiters = new Set<(c: ConnectionRecord) => void>();
  let closing = false;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };

  const handleConnection = (client: Socket) => {
    const record: ConnectionRecord = {
      index: connections.length + 1,
      bytes: { c2s: 0, s2c: 0 },
      discarded: 0,
      messages: [],
      closed: false,
      errors: [],
    };
    connections.push(record);
    const fault = faults.find((f) => {
      const which = f.connection ?? 1;
      return (
        which === "all" || which === record.index || (typeof which === "function" && which(record.index))
      );
    });
    const server = connect({ host: targetHost, port: targetPort });
    track(client);
    track(server);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const frontend = new FrontendParser();
    const backend = new BackendParser();
    let state: "open" | "dropping" | "stalled" | "closed" = "open";
    let armed = fault !== undefined;
    const held: Record<Direction, Buffer[]> = { c2s: [], s2c: [] };
    let closedSockets = 0;

    for (const [name, socket] of [
      ["client", client],
      ["server", server],
    ] as const) {
      socket.on("error", (err: NodeJS.ErrnoException) => {
        record.errors.push(`${name}: ${err.code ?? err.message}`);
      });
      socket.on("close", () => {
        closedSockets++;
        if (closedSockets === 2) record.closed = true;
        // One side went away: the other goes too (a stalled connection included).
        destroyBoth(false);
      });
    }

    function destroyBoth(reset: boolean) {
      if (state === "closed") return;
      state = "closed";
      if (reset && !client.destroyed) client.resetAndDestroy();
      else client.destroy();
      server.destroy();
    }

    function fire(trigger: { message?: ClientMessage; direction?: Direction }) {
      armed = false;
      record.fired = { action: fault!.action, at: new Date(), ...trigger };
      for (const w of [...faultWaiters]) w(record);
    }

    function forward(direction: Direction, data: Buffer, onWritten?: () => void) {
      const to = direction === "c2s" ? server : client;
      record.bytes[direction] += data.length;
      if (data.length === 0 || to.destroyed) {
        onWritten?.();
        return;
      }
      to.write(data, () => onWritten?.());
    }

    /** Client bytes received but not forwarded yet: a message still arriving while a message trigger is armed. */
    let unsent: Buffer = Buffer.alloc(0);

    function onData(direction: Direction, chunk: Buffer) {
      if (state === "closed") return;
      if (state === "stalled") {
        held[direction].push(chunk); // nothing more is forwarded (and reading is paused)
        return;
      }
      if (direction === "s2c") {
        backend.feed(chunk, frontend);
        if (state === "dropping") {
          record.discarded += chunk.length;
          return;
        }
      }
      const parsed = direction === "c2s" ? frontend.feed(chunk, () => backend.readySeen) : [];
      for (const p of parsed) record.messages.push(p.message);
      // `data` starts at stream offset `base` (everything before it was forwarded).
      const base = record.bytes[direction];
      const data = direction === "c2s" && unsent.length ? Buffer.concat([unsent, chunk]) : chunk;
      unsent = direction === "c2s" ? Buffer.alloc(0) : unsent;
      // Where in `data` the armed fault fires, if it does.
      let position = -1;
      let trigger: { message?: ClientMessage; direction?: Direction } = {};
      if (armed && fault) {
        const at = fault.at;
        if ("afterBytes" in at) {
          if (at.direction === direction) {
            const left = Math.max(0, at.afterBytes - base);
            if (left <= data.length) {
              position = left;
              trigger = { direction };
            }
          }
        } else if (direction === "c2s") {
          const hit = parsed.find((p) =>
            typeof at.message === "number" ? p.message.index === at.message : at.message(p.message),
          );
          if (hit) {
            const end = hit.message.endOffset;
            const useStart = at.before === true && fault.action !== "drop-reply";
            position = Math.max(0, (useStart ? end - hit.message.length : end) - base);
            trigger = { message: hit.message, direction };
          } else if (!frontend.opaque) {
            // Forward whole messages only, so a trigger can still stop before the next one.
            const last = parsed.at(-1);
            const safe = last ? last.message.endOffset - base : 0;
            forward(direction, data.subarray(0, safe));
            unsent = Buffer.from(data.subarray(safe));
            return;
          }
        }
      }
      if (position < 0) {
        forward(direction, data);
        return;
      }
      const head = data.subarray(0, position);
      const tail = data.subarray(position);
      fire(trigger);
      switch (fault!.action) {
        case "cut":
          // Both sockets go once the forwarded bytes reached the kernel.
          state = "stalled";
          client.pause();
          server.pause();
          forward(direction, head, () => destroyBoth(fault!.reset === true));
          return;
        case "stall":
          state = "stalled";
          client.pause();
          server.pause();
          forward(direction, head);
          held[direction].push(tail);
          return;
        case "drop-reply": {
          forward(direction, head);
          state = "dropping";
          // Whatever else the client sent in this chunk still goes through; only replies are lost.
          forward(direction, tail);
          const timer = setTimeout(() => {
            timers.delete(timer);
            destroyBoth(fault!.reset === true);
          }, fault!.closeAfterMs ?? 300);
          timers.add(timer);
          return;
        }
      }
    }

    client.on("data", (chunk: Buffer) => onData("c2s", chunk));
    server.on("data", (chunk: Buffer) => onData("s2c", chunk));
  };

  const server: Server = createServer(handleConnection);
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  return {
    url: proxiedUrl(targetUrl, port),
    port,
    connections,
    setFaults,
    waitForFault(timeoutMs = 30_000) {
      const already = connections.find((c) => c.fired);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          faultWaiters.delete(done);
          reject(new Error(`no fault fired within ${timeoutMs} ms: ${describe()}`));
        }, timeoutMs);
        const done = (c: ConnectionRecord) => {
          clearTimeout(timer);
          faultWaiters.delete(done);
          resolve(c);
        };
        faultWaiters.add(done);
      });
    },
    describe,
    async close() {
      if (closing) return;
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function describe(): string {
    return connections
      .map((c) => {
        const fired = c.fired
          ? ` ${c.fired.action} fired${c.fired.message ? ` after message #${c.fired.message.index} (${c.fired.message.type})` : ""}${c.fired.direction ? ` ${c.fired.direction}` : ""}`
          : "";
        return `#${c.index}: c2s ${c.bytes.c2s} B, s2c ${c.bytes.s2c} B, ${c.messages.length} messages${fired}${c.discarded ? `, ${c.discarded} B discarded` : ""}`;
      })
      .join("; ");
  }
}
