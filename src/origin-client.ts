/**
 * A small HTTP/1.1 client for one origin, the Node server's way to it: each request is written
 * as one string on a pooled keep-alive socket (`node:net`, or `node:tls` for https), and the
 * response is parsed here: status line, header fields, and a body framed by Content-Length,
 * chunked coding or the end of the connection (RFC 9112 §6.3). Body bytes are handed on as the
 * socket's own Buffers, with back-pressure.
 *
 * Why not `node:http`: on this project's gate bench its client cost more than half of the
 * gate's CPU per playlist request (ClientRequest, IncomingMessage, Readable and agent
 * bookkeeping). With this client the gate serves ~1.35× the playlist requests/s of a bare
 * node:http proxy that checks nothing, and ~1.8× what it served through node:http.
 * It speaks only what the gate needs (GET and HEAD without a body, one request at a time per
 * connection) and refuses, as a failed exchange, any response it cannot frame with certainty:
 * a malformed head, both Transfer-Encoding and Content-Length, differing Content-Lengths, bare
 * LF line ends, obsolete line folding, a head over 64 KiB. A connection is reused only after a
 * response that ended exactly where its framing said it would.
 * @module
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { connectionTokens } from "./proxy.js";

/** The head of an origin response, as the client's caller passes it on. */
export interface OriginHead {
  status: number;
  /** The reason phrase, possibly empty. */
  statusText: string;
  /** Field names and values, alternating; hop-by-hop fields (and any that `Connection` names) removed. */
  headers: string[];
}

/** What {@link OriginClient.request} reports; after `onEnd` or `onError`, nothing more. */
export interface ExchangeHandlers {
  /** The final (non-1xx) response head. */
  onHead(head: OriginHead): void;
  /** A piece of the body; return `false` to stop reading until {@link Exchange.resume}. */
  onData(chunk: Buffer): boolean;
  /** The body is complete (at once after `onHead` for HEAD, 204 and 304). */
  onEnd(): void;
  /**
   * The exchange failed: before `onHead` (nothing was sent on: answer 502, or 504 when
   * `timeout`) or after it (the body is short: cut the client's connection).
   */
  onError(timeout: boolean, message: string): void;
}

/** One request in flight. */
export interface Exchange {
  /** Reads on after `onData` returned false. */
  resume(): void;
  /** Gives up: closes the origin connection; no handler is called after this. */
  abort(): void;
}

/** Options of {@link createOriginClient}. */
export interface OriginClientOptions {
  /** `http:` or `https:` origin; its path is not used here. */
  origin: URL;
  /**
   * Time until the response head, and at most between two reads of the body (a body that
   * stops is cut short); 0 means no limit.
   */
  timeoutMs: number;
  /** Idle connections kept for reuse. Default 256. */
  maxIdle?: number;
  /** CA certificates to trust for an https origin, instead of Node's (tests, private CAs). */
  ca?: string | Buffer;
}

/** A pool of connections to one origin. */
export interface OriginClient {
  /**
   * Sends `method path` with `Host` and `headerLines` (each `Name: value\r\n`, already
   * checked by the caller) and reports the answer to `handlers`. Never throws.
   */
  request(
    method: "GET" | "HEAD",
    path: string,
    headerLines: string,
    handlers: ExchangeHandlers,
  ): Exchange;
  /** Closes idle connections; connections in use close when their exchange ends. */
  close(): void;
}

// Parser states (typed as number: the parser moves between them inside one call).
const IDLE: number = 0;
const HEAD: number = 1;
const LENGTH: number = 2;
const CHUNK_SIZE: number = 3;
const CHUNK_DATA: number = 4;
const CHUNK_END: number = 5;
const TRAILERS: number = 6;
const UNTIL_CLOSE: number = 7;
/** The head said there is no body (HEAD, 204, 304, Content-Length: 0). */
const NO_BODY: number = 8;

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 4096;
const HEAD_END = Buffer.from("\r\n\r\n");
/**
 * Header field lines from `lastIndex` to the end of the head: a name (RFC 9110 §5.6.2 token),
 * a colon, and a value without controls but HT (what node:http accepts), CRLF between lines.
 * Bare CR or LF, obsolete line folding and spaces before the colon all fail it.
 */
const FIELDS = /(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*(?:\r\n(?!$)|$))+$/y;
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[^]*)?$/;
/** Request targets: what node:http's client accepts, visible ASCII and Latin-1 only. */
const BAD_PATH = /[^\x21-\xff]/;
/** Response fields about the connection rather than the resource (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "trailer",
]);

/**
 * One request: what it sends, who hears the answer, and the connection it runs on (a retry
 * moves it to another). It is the caller's {@link Exchange}.
 */
class PendingExchange implements Exchange {
  connection: Connection | undefined;

  constructor(
    readonly headOnly: boolean,
    readonly text: string,
    readonly handlers: ExchangeHandlers,
  ) {}

  resume(): void {
    this.connection?.resume(this);
  }

  abort(): void {
    this.connection?.abort(this);
  }
}

/** One socket to the origin and the parser of the response on it. */
class Connection {
  readonly socket: Socket;
  /** Whether an exchange has completed on it before (a stale keep-alive may be retried). */
  reused = false;
  /** The exchange in progress; null while idle. */
  private exchange: PendingExchange | null = null;
  private state: number = IDLE;
  private keepAlive = true;
  private received = false;
  private remaining = 0;
  /** A head that came in pieces, gathered; `headLength` bytes of it are in use. */
  private headBuffer: Buffer | null = null;
  private headLength = 0;
  private line = "";
  private trailerBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Reading stopped because the caller pushed back: a quiet origin is not to blame then. */
  private paused = false;
  private error = "";

  constructor(
    private readonly pool: Pool,
    socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.onEnd());
    socket.on("error", (error: Error) => {
      this.error = error.message;
    });
    socket.on("close", () => this.onClose());
  }

  /** Starts an exchange on this (idle) connection. */
  send(exchange: PendingExchange): void {
    exchange.connection = this;
    this.exchange = exchange;
    this.error = "";
    this.state = HEAD;
    this.received = false;
    this.keepAlive = true;
    this.headLength = 0;
    this.line = "";
    this.trailerBytes = 0;
    this.paused = false;
    if (this.timeoutMs > 0) this.timer = setTimeout(this.onTimeout, this.timeoutMs);
    // A connection may have gone idle paused (its last reader pushed back): read again.
    this.socket.resume();
    this.socket.write(exchange.text, "latin1");
  }

  /** Reads on for `exchange`, if it still runs here. */
  resume(exchange: PendingExchange): void {
    if (this.exchange !== exchange) return;
    this.paused = false;
    this.timer?.refresh();
    this.socket.resume();
  }

  /**
   * The origin kept quiet for `timeoutMs`: before the head (the 504 case), or between two
   * reads of the body, as nginx's proxy_read_timeout (the body is cut short then).
   */
  private readonly onTimeout = (): void => {
    if (this.exchange === null) return;
    if (this.state === HEAD) {
      return this.fail(`no response headers within ${this.timeoutMs} ms`, true);
    }
    if (this.paused) return void this.timer!.refresh();
    this.fail(`origin sent no body bytes for ${this.timeoutMs} ms`, true);
  };

  /** Stops reading until {@link resume}. */
  private pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  /** Stops `exchange` without telling its handlers. */
  abort(exchange: PendingExchange): void {
    if (this.exchange !== exchange) return;
    this.detach();
    this.socket.destroy();
  }

  /**
   * Ends the exchange on this connection and returns it. Nothing of it is kept: an idle
   * connection would otherwise hold the last client's request and response.
   */
  private detach(): PendingExchange | null {
    const exchange = this.exchange;
    this.exchange = null;
    clearTimeout(this.timer);
    return exchange;
  }

  private fail(message: string, timeout = false): void {
    const exchange = this.detach();
    this.socket.destroy();
    exchange?.handlers.onError(timeout, message);
  }

  /** The response ended where its framing said; `extra`: bytes followed it. */
  private complete(extra: boolean): void {
    const exchange = this.detach()!;
    this.state = IDLE;
    this.reused = true;
    if (extra || !this.keepAlive) this.socket.destroy();
    else this.pool.release(this);
    exchange.handlers.onEnd();
  }

  private onData(chunk: Buffer): void {
    const exchange = this.exchange;
    // Bytes nobody asked for: the origin and this client disagree on framing; drop it.
    if (exchange === null) return void this.socket.destroy();
    const handlers = exchange.handlers;
    this.received = true;
    // Body bytes: the origin is alive, its read timeout starts again (a head's does not).
    if (this.state !== HEAD) this.timer?.refresh();
    let at = 0;
    while (this.exchange === exchange && at < chunk.length) {
      if (this.state === HEAD) {
        at = this.readHead(chunk, at);
        if (at < 0 || this.exchange !== exchange) return;
        if (this.state === NO_BODY || (this.state === LENGTH && this.remaining === 0)) {
          return this.complete(at < chunk.length);
        }
        continue;
      }
      if (this.state === LENGTH || this.state === CHUNK_DATA) {
        const n = Math.min(this.remaining, chunk.length - at);
        const piece = at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n);
        at += n;
        this.remaining -= n;
        const more = handlers.onData(piece);
        if (this.exchange !== exchange) return;
        if (!more) this.pause();
        if (this.remaining === 0) {
          if (this.state === LENGTH) return this.complete(at < chunk.length);
          this.state = CHUNK_END;
        }
      } else if (this.state === UNTIL_CLOSE) {
        const more = handlers.onData(at === 0 ? chunk : chunk.subarray(at));
        if (this.exchange === exchange && !more) this.pause();
        return;
      } else {
        // CHUNK_SIZE, CHUNK_END, TRAILERS: line by line.
        const lf = chunk.indexOf(10, at);
        if (lf < 0) {
          this.line += chunk.toString("latin1", at);
          if (this.line.length > MAX_LINE) this.fail("origin sent an overlong chunk line");
          return;
        }
        const line = this.line + chunk.toString("latin1", at, lf);
        this.line = "";
        at = lf + 1;
        if (!line.endsWith("\r") || line.length > MAX_LINE) {
          return this.fail("origin sent a malformed chunked body");
        }
        this.readLine(line.slice(0, -1), at < chunk.length);
      }
    }
  }

  /** A chunk-size line, the CRLF after chunk data, or a trailer line. */
  private readLine(line: string, extra: boolean): void {
    if (this.state === CHUNK_END) {
      if (line !== "") return this.fail("origin sent a malformed chunked body");
      this.state = CHUNK_SIZE;
    } else if (this.state === CHUNK_SIZE) {
      const size = CHUNK_SIZE_LINE.exec(line);
      if (size === null) return this.fail("origin sent a malformed chunk size");
      this.remaining = parseInt(size[1]!, 16);
      this.state = this.remaining === 0 ? TRAILERS : CHUNK_DATA;
    } else if (line === "") {
      this.complete(extra); // trailers end with an empty line; they are not passed on
    } else if ((this.trailerBytes += line.length) > MAX_HEAD) {
      this.fail("origin sent too many trailer fields");
    }
  }

  /** Reads the response head from chunk[at…]; the offset after it, or -1 when it failed. */
  private readHead(chunk: Buffer, at: number): number {
    if (this.headLength === 0) {
      // The common case: the whole head in one read, parsed straight from the socket's buffer.
      const end = chunk.indexOf(HEAD_END, at);
      if (end >= 0) {
        if (end - at > MAX_HEAD) return (this.fail("origin sent a head over 64 KiB"), -1);
        const failure = this.parseHead(chunk.toString("latin1", at, end));
        if (failure !== undefined) return (this.fail(failure), -1);
        return end + 4;
      }
    }
    // A head in pieces: gathered in a buffer that grows by doubling, so a head trickling in
    // a byte at a time costs linear, not quadratic, copying.
    const before = this.headLength;
    const wanted = before + chunk.length - at;
    if (this.headBuffer === null || this.headBuffer.length < wanted) {
      const grown = Buffer.allocUnsafe(Math.max(wanted, 2 * (this.headBuffer?.length ?? 2048)));
      this.headBuffer?.copy(grown, 0, 0, before);
      this.headBuffer = grown;
    }
    chunk.copy(this.headBuffer, before, at);
    this.headLength = wanted;
    const end = this.headBuffer.subarray(0, wanted).indexOf(HEAD_END, Math.max(0, before - 3));
    if (end < 0) {
      if (wanted > MAX_HEAD) return (this.fail("origin sent a head over 64 KiB"), -1);
      return chunk.length;
    }
    this.headLength = 0;
    if (end > MAX_HEAD) return (this.fail("origin sent a head over 64 KiB"), -1);
    const text = this.headBuffer.toString("latin1", 0, end);
    if (this.headBuffer.length > 16_384) this.headBuffer = null; // do not keep a big one idle
    const failure = this.parseHead(text);
    if (failure !== undefined) return (this.fail(failure), -1);
    return at + end + 4 - before;
  }

  /** Parses one head and sets the body's framing; says what is wrong, if anything. */
  private parseHead(text: string): string | undefined {
    let eol = text.indexOf("\r\n");
    if (eol < 0) eol = text.length;
    const code = statusCode(text, eol);
    if (code < 0 || invalidValue(text, 13, eol)) return "origin sent a malformed status line";
    const statusEnd = eol;
    if (code < 200) {
      // 1xx (e.g. 103 Early Hints) is interim: the final head follows. 101 would switch
      // protocols, which a GET without Upgrade never asked for.
      return code === 101 ? "origin switched protocols" : undefined;
    }
    if (text.charCodeAt(7) === 0x30) this.keepAlive = false; // HTTP/1.0
    // Every field line checked at once by the native regular expression engine (a charCodeAt
    // loop measured ~4x slower); the loop below then only cuts names and values out.
    FIELDS.lastIndex = statusEnd + 2;
    if (statusEnd < text.length && !FIELDS.test(text))
      return "origin sent a malformed header field";
    const headers: string[] = [];
    let contentLength = -1;
    let transferEncoding: string | undefined;
    let named: string[] | undefined;
    for (let start = eol + 2; start < text.length; start = eol + 2) {
      eol = text.indexOf("\r\n", start);
      if (eol < 0) eol = text.length;
      const colon = text.indexOf(":", start);
      const name = text.slice(start, colon);
      const value = trimOws(text, colon + 1, eol);
      // Only these lengths can name a field handled here: lower-case just those.
      const length = colon - start;
      if (length !== 7 && length !== 10 && length < 14) {
        headers.push(name, value);
        continue;
      }
      const lower = name.toLowerCase();
      if (lower === "content-length") {
        if (!isDigits(value)) return "origin sent an invalid Content-Length";
        const length = Number(value);
        if (contentLength >= 0 && length !== contentLength) {
          return "origin sent differing Content-Lengths";
        }
        if (contentLength >= 0) continue; // one copy is enough
        contentLength = length;
      } else if (lower === "transfer-encoding") {
        transferEncoding = (transferEncoding === undefined ? "" : `${transferEncoding},`) + value;
        continue;
      } else if (lower === "connection") {
        const tokens = connectionTokens(value);
        if (tokens.includes("close")) this.keepAlive = false;
        if (tokens.length > 0) (named ??= []).push(...tokens);
        continue;
      } else if (HOP_BY_HOP.has(lower)) {
        continue;
      }
      headers.push(name, value);
    }
    if (named !== undefined) {
      for (let i = headers.length - 2; i >= 0; i -= 2) {
        if (named.includes(headers[i]!.toLowerCase())) headers.splice(i, 2);
      }
    }
    if (transferEncoding !== undefined && contentLength >= 0) {
      return "origin sent both Transfer-Encoding and Content-Length";
    }
    // The head is in: from now on the timeout measures the quiet between body reads.
    this.timer?.refresh();
    if (this.exchange!.headOnly || code === 204 || code === 304) {
      this.state = NO_BODY;
    } else if (transferEncoding !== undefined) {
      // Chunked must be the last coding; anything else runs to the end of the connection.
      const chunked = /(?:^|,)[ \t]*chunked[ \t]*$/i.test(transferEncoding);
      this.state = chunked ? CHUNK_SIZE : UNTIL_CLOSE;
      if (!chunked) this.keepAlive = false;
    } else if (contentLength >= 0) {
      this.state = LENGTH;
      this.remaining = contentLength;
    } else {
      this.state = UNTIL_CLOSE;
      this.keepAlive = false;
    }
    try {
      this.exchange!.handlers.onHead({
        status: code,
        statusText: text.slice(13, statusEnd),
        headers,
      });
    } catch (error) {
      // A head the caller could not pass on (its own checks differ): fail the exchange here
      // rather than throw out of the socket's event handler and take the process down.
      return `origin answer not passed on: ${(error as Error).message}`;
    }
    return undefined;
  }

  private onEnd(): void {
    // allowHalfOpen is off, so "close" follows; a body running to the end is complete here.
    if (this.exchange !== null && this.state === UNTIL_CLOSE) {
      this.keepAlive = false;
      this.complete(false);
    }
  }

  private onClose(): void {
    this.pool.forget(this);
    if (this.exchange === null) return;
    if (this.state === UNTIL_CLOSE && this.error === "") return this.complete(false);
    if (this.state === HEAD && !this.received && this.reused) {
      // A kept-alive connection the origin closed as we sent on it: try once on a new one.
      this.pool.send(this.detach()!, false);
      return;
    }
    const message =
      this.state === HEAD
        ? `origin closed the connection${this.error === "" ? "" : ` (${this.error})`}`
        : "origin closed the connection mid-body";
    this.detach()!.handlers.onError(false, message);
  }
}

/** text[from, to) without the spaces and tabs around it. */
function trimOws(text: string, from: number, to: number): string {
  let start = from;
  let end = to;
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 9)) {
    end--;
  }
  return text.slice(start, end);
}

/** Whether text[from, to) has a byte node:http refuses in a field value: a control but HT. */
function invalidValue(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f) return true;
  }
  return false;
}

/** The status code of a status line `HTTP/1.x NNN[ reason]` ending at `eol`; -1 if malformed. */
function statusCode(text: string, eol: number): number {
  const minor = text.charCodeAt(7);
  if (
    !text.startsWith("HTTP/1.") ||
    (minor !== 0x30 && minor !== 0x31) ||
    text.charCodeAt(8) !== 0x20 ||
    (eol > 12 && text.charCodeAt(12) !== 0x20) ||
    eol < 12
  ) {
    return -1;
  }
  let code = 0;
  for (let i = 9; i < 12; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    code = code * 10 + digit;
  }
  return code >= 100 && code <= 599 ? code : -1;
}

/** Whether `value` is 1 to 15 decimal digits (a Content-Length a double holds exactly). */
function isDigits(value: string): boolean {
  if (value.length === 0 || value.length > 15) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The connections to one origin: LIFO idle list, new sockets on demand. */
class Pool {
  private readonly idle: Connection[] = [];
  private closed = false;

  constructor(
    private readonly connect: () => Socket,
    private readonly maxIdle: number,
    private readonly timeoutMs: number,
  ) {}

  send(exchange: PendingExchange, mayReuse: boolean): void {
    let connection: Connection | undefined;
    while (mayReuse && connection === undefined && this.idle.length > 0) {
      const candidate = this.idle.pop()!;
      if (!candidate.socket.destroyed) connection = candidate;
    }
    connection ??= new Connection(this, this.connect(), this.timeoutMs);
    connection.send(exchange);
  }

  release(connection: Connection): void {
    if (this.closed || this.idle.length >= this.maxIdle) connection.socket.destroy();
    else this.idle.push(connection);
  }

  forget(connection: Connection): void {
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
  }

  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
  }
}

/**
 * Builds the client once at start-up.
 *
 * @example
 * ```ts
 * const client = createOriginClient({ origin: new URL("http://127.0.0.1:8080"), timeoutMs: 30_000 });
 * client.request("GET", "/videos/2675_abc/master.m3u8", "", {
 *   onHead: (head) => console.log(head.status),
 *   onData: () => true,
 *   onEnd: () => client.close(),
 *   onError: (timeout, message) => console.error(message),
 * });
 * ```
 */
export function createOriginClient(options: OriginClientOptions): OriginClient {
  const url = options.origin;
  const secure = url.protocol === "https:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  const hostHeader = url.host;
  // TCP keep-alive probes, as node:http's keep-alive agent sets them: a pooled connection whose
  // peer vanished (a NAT or load balancer forgot it) is found out instead of waited on.
  const connect = secure
    ? () =>
        tlsConnect({
          host,
          port,
          // SNI takes a name, never an address.
          servername: /^[\d.]+$|:/.test(host) ? undefined : host,
          ALPNProtocols: ["http/1.1"],
          ca: options.ca,
        })
          .setNoDelay(true)
          .setKeepAlive(true, 1000)
    : () => netConnect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
  const pool = new Pool(connect, options.maxIdle ?? 256, options.timeoutMs);

  return {
    request(method, path, headerLines, handlers) {
      if (BAD_PATH.test(path)) {
        queueMicrotask(() =>
          handlers.onError(false, "request target has characters HTTP/1.1 cannot carry"),
        );
        return new PendingExchange(false, "", handlers); // never sent: resume, abort do nothing
      }
      const text = `${method} ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\n${headerLines}\r\n`;
      const exchange = new PendingExchange(method === "HEAD", text, handlers);
      pool.send(exchange, true);
      return exchange;
    },
    close: () => pool.close(),
  };
}
