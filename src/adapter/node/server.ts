/**
 * The self-hosted gate: the same decision and refusals as the Worker, served by node:http.
 * One path per request: `decide()` once, then a granted GET or HEAD streams from the origin
 * through the origin leg (`origin.ts`) and anything else is answered here from the shared
 * policy (`refusal.ts`, `cors.ts`). Also: an access log, graceful shutdown, one or many
 * listening sockets. `tokengate serve` (src/cli) starts it from settings.
 * @module
 */
import cluster from "node:cluster";
import {
  createServer,
  ServerResponse,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
} from "node:http";
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from "node:net";
import type { CacheKeyQuery } from "../../core/cache-key.js";
import { decide, upgradeRefusal } from "../../core/decide.js";
import { clientAddressOf, clientShareKey, type AddressRanges } from "../../core/ip.js";
import { splitTarget } from "../../core/link.js";
import type { Settings } from "../../core/settings.js";
import type { ClientInfo } from "../../http/headers.js";
import { preflight } from "../../http/cors.js";
import type { Grant } from "../../http/middleware.js";
import { errorLine } from "../../http/refusal.js";
import { accessLine, messageLine, type LogFormat } from "./access-log.js";
import { createCache } from "./cache.js";
import {
  createMetrics,
  shareWithPrimary,
  startMetricsServer,
  type MetricSources,
  type MetricsListen,
  type MetricsServer,
} from "./metrics.js";
import { createOriginLeg, refuse, type ForwardOptions, type ProxyOutcome } from "./origin.js";
import {
  DEFAULT_CLIENT_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_ORIGIN_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from "../../core/settings-table.js";

/** Options of {@link startGateServer}. */
export interface GateServerOptions {
  settings: Settings;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default `json`. */
  logFormat?: LogFormat;
  /** Where log lines go; default stdout. */
  log?: (line: string) => void;
  /** How long shutdown waits for in-flight responses before cutting them; default 10 s. */
  shutdownMs?: number;
  /**
   * Time a client may take no bytes of an answer before its connection is cut and its origin
   * request ended (nginx's `send_timeout`); 0 = none. Default {@link DEFAULT_CLIENT_TIMEOUT_MS}.
   */
  clientTimeoutMs?: number;
  /** Most connections open to the origin at once. Default {@link DEFAULT_ORIGIN_CONNECTIONS}. */
  originConnections?: number;
  /**
   * Most granted requests one client address may have in flight at once (paced downloads and
   * all, answered from the cache or not); one more is answered 503 with `Retry-After`
   * (`client-limit`). 0 = no limit, the default here; `tokengate serve` passes
   * `REQUESTS_PER_CLIENT`, whose default is {@link defaultRequestsPerClient}. Counted
   * per process.
   */
  requestsPerClient?: number;
  /** Reuse origin connections; default true (see `OriginLegOptions.keepAlive`). */
  originKeepAlive?: boolean;
  /**
   * Proxies in front of the gate whose `X-Forwarded-For` is believed: from a peer in these
   * ranges the client is the right-most entry not in them. Default none: the client is the
   * socket's peer, whatever a request claims.
   */
  trustProxy?: AddressRanges;
  /** CA certificates to trust for an https origin instead of Node's (private CAs). */
  originCa?: string | Buffer;
  /**
   * Time a client may take to send a whole request, its head and any body (which the gate
   * discards), from its first byte; then Node answers 408 and closes the connection, or only
   * closes it once an answer has begun. Also the limit for a new connection's first request.
   * Default {@link DEFAULT_REQUEST_TIMEOUT_MS}.
   */
  requestTimeoutMs?: number;
  /**
   * Time a kept-alive connection may sit idle between requests before it is closed. Default
   * {@link DEFAULT_KEEPALIVE_TIMEOUT_MS}.
   */
  keepAliveTimeoutMs?: number;
  /**
   * Most client connections this process holds; one beyond it is closed as soon as it is
   * accepted. 0 = no limit. Default {@link DEFAULT_MAX_CONNECTIONS}.
   */
  maxConnections?: number;
  /**
   * Listening sockets on the port, shared with SO_REUSEPORT, each accepting for the same
   * server. Default {@link DEFAULT_LISTEN_SOCKETS} where Node and the platform allow it (Node
   * 22.12+ or 23.1+ on Linux), else 1; always 1 in a cluster worker. Why: Node accepts one
   * connection per listening socket per turn of its event loop (see `listen` below).
   */
  listenSockets?: number;
  /**
   * A shared in-memory cache of origin answers keyed by origin path (never the token); off
   * when absent. See `cache.ts`.
   */
  cache?: { maxBytes: number; heuristicCapSeconds: number; keyQuery?: CacheKeyQuery };
  /** Count the figures `GET /metrics` shows; default true. */
  metrics?: boolean;
  /**
   * Where to serve `GET /metrics` (Prometheus text format): a listener of its own, never the
   * public port. Default none; a cluster worker has none (the primary serves every worker's
   * figures added up).
   */
  metricsListen?: MetricsListen;
}

/** A running gate. */
export interface GateServer {
  /** `http://host:port` */
  url: string;
  port: number;
  server: Server;
  /** How many sockets listen on the port (see {@link GateServerOptions.listenSockets}). */
  listenSockets: number;
  /** `http://host:port/metrics` on the metrics listener, when there is one. */
  metricsUrl?: string;
  /** Stops accepting, lets in-flight responses finish (up to `shutdownMs`), then resolves. */
  close(): Promise<void>;
}

/**
 * `REQUESTS_PER_CLIENT` unset: an eighth of the origin connections, from 1 to 8. A player
 * keeps one or two requests in flight (a segment, a playlist), so 8 lets a household or a
 * small NAT play at once; an eighth keeps one address from more than half the share paced
 * downloads may hold (a quarter), so it cannot starve other viewers on a small pool.
 */
export function defaultRequestsPerClient(originConnections: number): number {
  return Math.min(8, Math.max(1, Math.floor(originConnections / 8)));
}
// The defaults are the settings table's, so help, docs and the server say the same.
export {
  DEFAULT_CLIENT_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_ORIGIN_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
};

/**
 * Who the client is: the socket's peer (an IPv4-mapped IPv6 one as IPv4), or, behind a trusted
 * proxy, the right-most `X-Forwarded-For` entry not trusted; undefined when that entry is not
 * an address.
 */
function clientOf(req: IncomingMessage, trusted: AddressRanges | undefined): ClientInfo {
  const peer = req.socket.remoteAddress;
  if (trusted === undefined) {
    return {
      address: peer?.startsWith("::ffff:") && peer.includes(".") ? peer.slice(7) : peer,
      proto: "http",
    };
  }
  const forwarded = req.headersDistinct["x-forwarded-for"] ?? [];
  return { address: clientAddressOf(peer, forwarded, trusted), proto: "http" };
}

/**
 * Starts the gate on Node.
 *
 * @example
 * ```ts
 * import { readSettings, startGateServer } from "tokengate/node";
 * const gate = await startGateServer({ settings: readSettings(process.env), port: 8787 });
 * process.on("SIGTERM", () => gate.close());
 * ```
 */
export async function startGateServer(options: GateServerOptions): Promise<GateServer> {
  const { settings } = options;
  const format = options.logFormat ?? "json";
  const stdout = options.log === undefined ? batchedStdout() : undefined;
  const write = options.log ?? stdout!.write;
  const shutdownMs = options.shutdownMs ?? 10_000;
  const sockets = options.listenSockets ?? (reusePortWorks() ? DEFAULT_LISTEN_SOCKETS : 1);
  if (!Number.isInteger(sockets) || sockets < 1 || sockets > 1024) {
    throw new Error("listenSockets must be a whole number from 1 to 1024");
  }
  const sources: MetricSources = {
    clientConnections: () => clientConnections,
    originConnections: () => origin.connections(),
  };
  const metrics = options.metrics === false ? undefined : createMetrics(sources);
  // In a cluster worker, the primary's aggregator reads this registry.
  if (metrics !== undefined && cluster.isWorker) shareWithPrimary(metrics);
  const trusted = options.trustProxy;
  const origin = createOriginLeg({
    origin: settings.origin,
    timeoutMs: settings.originTimeoutMs,
    clientTimeoutMs: options.clientTimeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
    connections: options.originConnections ?? DEFAULT_ORIGIN_CONNECTIONS,
    forwardHeaders: settings.forwardHeaders,
    keepAlive: options.originKeepAlive ?? true,
    ca: options.originCa,
    onError: (reason, message) => {
      if (reason === "origin-error" || reason === "origin-timeout") metrics?.originFailed(reason);
      write(messageLine(format, "error", `${reason}: ${message}`));
    },
    onAnswer: (seconds) => metrics?.originAnswered(seconds),
  });
  let clientConnections = 0;
  const clientShare = options.requestsPerClient ?? 0;
  /** Granted requests in flight per client address (absent: none). */
  const inFlight = new Map<string, number>();
  /**
   * Takes one of the client's places for this answer, given back when it closes (finished,
   * failed or the client gone); false when the client has none left.
   */
  const takePlace = (req: IncomingMessage, res: ServerResponse, client: ClientInfo): boolean => {
    if (clientShare === 0) return true;
    // By address (an IPv6 one's /64); with none behind a trusted proxy (junk X-Forwarded-For)
    // the proxy's own counts.
    const key = clientShareKey(client.address ?? req.socket.remoteAddress ?? "");
    const held = inFlight.get(key) ?? 0;
    if (held >= clientShare) return false;
    inFlight.set(key, held + 1);
    res.once("close", () => {
      const left = inFlight.get(key)! - 1;
      if (left === 0) inFlight.delete(key);
      else inFlight.set(key, left);
    });
    return true;
  };

  const cache =
    options.cache === undefined || options.cache.maxBytes <= 0
      ? undefined
      : createCache(origin, {
          ...options.cache,
          fillDeadlineMs: settings.originTimeoutMs,
          clientTimeoutMs: options.clientTimeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
        });
  sources.cache = cache?.stats;

  /** A grant's pace, token to carry on, and CORS headers, as the origin leg takes them. */
  const forwardOptions = (grant: Grant): ForwardOptions => ({
    rate: grant.form === "mp4" ? grant.rate : undefined,
    propagate: grant.form === "query" ? grant.propagate : undefined,
    cors: settings.cors,
  });

  /**
   * A granted request's answer: from the cache when there is one and it can answer, else
   * streamed from the origin (then `X-Cache: MISS` with a cache on). A paced MP4 download
   * always streams: its pace is the point.
   */
  const serveGrant = (
    req: IncomingMessage,
    res: ServerResponse,
    grant: Grant,
    client: ClientInfo,
    outcome: ProxyOutcome,
  ): void => {
    const extra = forwardOptions(grant);
    if (!takePlace(req, res, client)) {
      return refuse(req, res, "client-limit", outcome, extra.cors);
    }
    if (cache === undefined || extra.rate?.speed !== undefined) {
      return origin.forward(req, res, grant.target, client, outcome, extra);
    }
    const request = { incoming: req, outgoing: res, target: grant.target, client, outcome };
    cache
      .serve({ ...request, propagate: extra.propagate, cors: extra.cors })
      .then((served) => {
        if (served) return;
        origin.forward(req, res, grant.target, client, outcome, { ...extra, xCache: "MISS" });
      })
      .catch((error: unknown) => {
        write(messageLine(format, "error", `internal: cache: ${(error as Error).message}`));
        if (!res.headersSent) res.destroy();
      });
  };

  const gate = settings.gate;
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const serverOptions = {
    keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS,
    requestTimeout,
    // The gate reads no request body, so the head has the same time as the whole request
    // (Node refuses a headersTimeout above requestTimeout).
    headersTimeout: requestTimeout,
    // Node looks for expired requests this often (30 s by default, which let a 1 s timeout
    // fire up to 30 s late): a quarter of the timeout, at most 1 s, bounds the overshoot, at
    // the cost of one walk over the connections still sending a request.
    connectionsCheckingInterval:
      requestTimeout > 0 ? Math.min(1000, Math.max(10, Math.floor(requestTimeout / 4))) : 30_000,
  };
  // One line a minute at most for connections cut for pipelining, as for MAX_CONNECTIONS.
  let cutReported = -Infinity;
  let cut = 0;
  const cutLine = () => {
    cut++;
    if (performance.now() - cutReported < 60_000) return;
    cutReported = performance.now();
    const line = `pipelining: a connection had more than ${MAX_WAITING} requests waiting for an answer; closed (${cut} so far)`;
    write(messageLine(format, "error", line));
  };
  /**
   * Decides a request once and answers it: a grant from the origin (or the cache), anything
   * else from the shared policy, without asking the origin.
   */
  const answer = (req: IncomingMessage, res: ServerResponse, outcome: ProxyOutcome): void => {
    // llhttp hands over a request whose body has a coding other than chunked (identity,
    // xchunked) before it finds it cannot frame it: refused first, as nginx refuses it, so
    // nothing of it reaches the origin.
    const coding = req.headers["transfer-encoding"];
    if (coding !== undefined && coding.trim().toLowerCase() !== "chunked") {
      res.writeHead(400, {
        connection: "close",
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        "content-length": String(BAD_REQUEST.length),
      });
      res.end(req.method === "HEAD" ? undefined : BAD_REQUEST);
      outcome.bytes = req.method === "HEAD" ? 0 : BAD_REQUEST.length;
      return;
    }
    const method = req.method ?? "";
    // The raw target, as the client sent it: `..` and `%2e` are judged, never resolved.
    const target = req.url ?? "/";
    const cors = settings.cors;
    const reading = method === "GET" || method === "HEAD";
    // An upgrade under a prefix is refused before anything else, a preflight included.
    const upgrade = upgradeRefusal(target, gate, req.headers.upgrade);
    if (cors !== undefined && upgrade === undefined) {
      const headers = preflight(cors, gate, method, target, req.headers.origin);
      if (headers !== undefined) {
        res.writeHead(204, headers.flat());
        res.end();
        return;
      }
    }
    const client = clientOf(req, trusted);
    const decision = upgrade ?? decide(method, target, gate, client.address);
    if (decision.action === "proxy") {
      discardBody(req);
      return serveGrant(req, res, decision, client, outcome);
    }
    if (decision.action === "reject") {
      return refuse(req, res, decision.reason, outcome, cors);
    }
    // Outside the guarded prefixes: the health check, else 404.
    if (reading && isHealthCheck(target)) {
      res.writeHead(200, HEALTH_HEADERS);
      res.end(method === "HEAD" ? undefined : HEALTHY);
      outcome.bytes = method === "HEAD" ? 0 : HEALTHY.length;
      return;
    }
    refuse(req, res, "not-found", outcome, undefined);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const outcome: ProxyOutcome = { bytes: -1 };
    let logged = false;
    const log = () => {
      if (logged) return;
      logged = true;
      if (unlogged.has(res)) return;
      // Closed before an answer was sent: the client went away (nginx logs such a request 499).
      const status = res.headersSent || res.writableFinished ? res.statusCode : 499;
      const bytes =
        outcome.bytes >= 0
          ? outcome.bytes
          : req.method === "HEAD"
            ? 0
            : Number(res.getHeader("content-length") ?? 0);
      const reason = outcome.reason;
      metrics?.answered(status, reason);
      write(
        accessLine(format, {
          method: req.method ?? "",
          target: req.url ?? "",
          status,
          reason,
          upstreamStatus: outcome.upstreamStatus,
          bytes,
          ms: performance.now() - started,
        }),
      );
    };
    res.once("close", log);
    inTurn(
      req.socket,
      res,
      () => {
        try {
          answer(req, res, outcome);
        } catch (error) {
          write(messageLine(format, "error", `internal: ${errorLine(error)}`));
          if (res.headersSent) res.destroy();
          else refuse(req, res, "misconfigured", outcome, undefined, "Internal Server Error\n");
        }
      },
      log,
      cutLine,
    );
  };
  const server = createServer(serverOptions, onRequest);
  // An Expect other than 100-continue is decided like any other request (node:http would
  // answer 417 itself, unlogged, before the gate's 403/410/405); nothing of it is forwarded.
  server.on("checkExpectation", onRequest);
  // CONNECT (a tunnel asked of a gate) is decided and answered like any other request, then
  // the connection closed: node:http would close it unanswered and unlogged.
  server.on("connect", (req: IncomingMessage, socket: Socket) => {
    // node:http has handed the socket over, its error listener with it: a client's reset must
    // not become the process's uncaught error.
    socket.on("error", () => socket.destroy());
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once("finish", () => socket.end());
    socket.once("close", () => res.emit("close"));
    onRequest(req, res);
  });
  // A request node:http's parser refuses (Content-Length with Transfer-Encoding, a bad head):
  // answered as node:http answers it, and logged, so a smuggling probe leaves a line.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    const code = error.code ?? "";
    const status =
      code === "HPE_HEADER_OVERFLOW"
        ? 431
        : code === "HPE_CHUNK_EXTENSIONS_OVERFLOW"
          ? 413
          : code === "ERR_HTTP_REQUEST_TIMEOUT"
            ? 408
            : 400;
    const head = socket as Socket & { _httpMessage?: { headersSent?: boolean } };
    if (socket.writable && !head._httpMessage?.headersSent) {
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
      // Timeouts and resets are the connection's, not a request's: not logged.
      if (status !== 408 && code !== "ECONNRESET") {
        metrics?.answered(status, "malformed");
        write(
          accessLine(format, {
            method: "",
            target: "",
            status,
            reason: "malformed",
            bytes: 0,
            ms: 0,
          }),
        );
      }
    }
    socket.destroy(error);
  });

  server.on("connection", (socket: Socket) => {
    clientConnections++;
    socket.once("close", () => clientConnections--);
  });
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (maxConnections > 0) {
    let open = 0;
    let dropped = 0;
    let reported = -Infinity;
    // Counted here, not with Node's own `maxConnections`, which sees only the connections one
    // listening socket accepted, not those the extra sockets hand over. Ahead of node:http's
    // listener, so no byte of a connection over the limit is read.
    server.prependListener("connection", (socket: Socket) => {
      if (open < maxConnections) {
        open++;
        socket.once("close", () => open--);
        return;
      }
      socket.destroy();
      dropped++;
      // One line a minute at most: a flood must not turn into a flood of log lines.
      if (performance.now() - reported >= 60_000) {
        reported = performance.now();
        const line = `max-connections: ${maxConnections} client connections open; new ones are closed at once (${dropped} so far)`;
        write(messageLine(format, "error", line));
      }
    });
  }

  // Before the public port, so that a taken metrics port stops start-up before any client
  // is accepted.
  let metricsServer: MetricsServer | undefined;
  if (metrics !== undefined && options.metricsListen !== undefined) {
    metricsServer = await startMetricsServer(metrics.text, options.metricsListen);
  }
  let acceptors: NetServer[];
  try {
    acceptors = await listen(
      server,
      options.port ?? 8787,
      options.host ?? "127.0.0.1",
      // A cluster worker's listening goes through the primary: one socket there.
      cluster.isWorker ? 1 : sockets,
    );
  } catch (error) {
    await metricsServer?.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      // Each listening socket counts the connections it accepted; all must drain.
      const closed = [server, ...acceptors].map(
        (listener) => new Promise<void>((done) => listener.close(() => done())),
      );
      void Promise.all(closed).then(async () => {
        clearInterval(idleSweep);
        clearTimeout(deadline);
        await origin.close();
        await metricsServer?.close();
        stdout?.flush();
        resolve();
      });
      // Keep-alive connections become idle as their responses finish: close them as they do.
      server.closeIdleConnections();
      const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
      const deadline = setTimeout(() => server.closeAllConnections(), shutdownMs);
      deadline.unref();
    });
    return closing;
  }

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    server,
    listenSockets: 1 + acceptors.length,
    metricsUrl: metricsServer?.url,
    close,
  };
}

/**
 * Reads away a body sent with a granted GET or HEAD as it arrives; it is never forwarded.
 * Unread, a body larger than Node's buffers would keep the request unfinished while its
 * answer streams, and `requestTimeout` would cut the answer.
 */
function discardBody(req: IncomingMessage): void {
  req.resume();
}

const HEALTHY = "ok";
const HEALTH_HEADERS = Object.freeze({
  "content-type": "text/plain; charset=UTF-8",
  "content-length": String(HEALTHY.length),
});

/**
 * Whether an unguarded target asks for the health check, `/healthz`: its path with dot
 * segments resolved and escapes decoded, as a URL router reads it (`/x/../healthz`,
 * `/%68ealthz`, `/healthz/`, and an absolute form's too); `//healthz` is another path.
 */
function isHealthCheck(target: string): boolean {
  const path = splitTarget(target).path;
  if (path === "/healthz" || path === "/healthz/") return true;
  if (!path.includes("%") && !path.includes(".")) return false;
  try {
    const resolved = decodeURI(new URL("http://gate" + path).pathname);
    return resolved === "/healthz" || resolved === "/healthz/";
  } catch {
    return false;
  }
}

/** Requests a client pipelined on one connection, waiting for the one before to be answered. */
interface Turns {
  busy: boolean;
  /** The connection was cut for pipelining too much: what else it sent is dropped unlogged. */
  cut: boolean;
  waiting: { run: () => void; drop: () => void; res: ServerResponse }[];
}
const turns = new WeakMap<Socket, Turns>();
/** Responses never to be logged: requests of a connection cut for pipelining too much. */
const unlogged = new WeakSet<ServerResponse>();

/**
 * Most requests one connection may have waiting behind the one being answered. Players send
 * one at a time (browsers do not pipeline at all); a client that queues more holds the
 * server's memory and time with requests it never reads the answers of.
 */
const MAX_WAITING = 16;

/** The body of a request refused before the gate reads it (Node's own 400 has none). */
const BAD_REQUEST = "Bad Request\n";

/**
 * Runs `run` for a response once every earlier response on its connection is done. Node hands
 * the server every pipelined request at once (and answers them in order), so without this one
 * connection could hold as many origin requests as it pipelined, and keep them after it left.
 * nginx, too, handles one request of a connection at a time. When the connection closes, the
 * requests still waiting are never started; `drop` logs each. A connection with more than
 * {@link MAX_WAITING} waiting is cut, its requests dropped unlogged, `onCut` told once: Node
 * keeps parsing a connection whose answers wait, so the queue would otherwise grow without end.
 */
function inTurn(
  socket: Socket,
  res: ServerResponse,
  run: () => void,
  drop: () => void,
  onCut: () => void,
): void {
  let line = turns.get(socket);
  if (line === undefined) {
    const created: Turns = { busy: false, cut: false, waiting: [] };
    turns.set(socket, created);
    socket.once("close", () => {
      for (const request of created.waiting.splice(0)) request.drop();
    });
    line = created;
  }
  const turn = line;
  if (turn.cut) {
    unlogged.add(res);
    return;
  }
  const start = () => {
    turn.busy = true;
    res.once("close", () => {
      // A connection that closed starts nothing more: its waiting requests are dropped.
      if (socket.destroyed) {
        for (const request of turn.waiting.splice(0)) request.drop();
        return;
      }
      const next = turn.waiting.shift();
      if (next === undefined) turn.busy = false;
      else next.run();
    });
    run();
  };
  if (!turn.busy) return start();
  if (turn.waiting.length >= MAX_WAITING) {
    turn.cut = true;
    unlogged.add(res);
    for (const request of turn.waiting.splice(0)) unlogged.add(request.res);
    onCut();
    socket.destroy();
    return;
  }
  turn.waiting.push({ run: start, drop, res });
}

/** Listening sockets opened where SO_REUSEPORT can be used (see `listenSockets`). */
export const DEFAULT_LISTEN_SOCKETS = 64;

/**
 * Whether `listen({ reusePort })` works here: Node 22.12+ or 23.1+ (older versions ignore the
 * option) on Linux, where the kernel spreads new connections across the sockets.
 */
function reusePortWorks(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const supported = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  return supported && process.platform === "linux";
}

function listenOn(listener: NetServer, port: number, host: string, reusePort: boolean) {
  return new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen({ port, host, reusePort }, () => {
      listener.off("error", reject);
      resolve();
    });
  });
}

/**
 * Makes `server` listen on host:port with `sockets` listening sockets. Why more than one: Node
 * (libuv since 1.45) accepts one connection per listening socket per turn of the event loop,
 * and under load a turn takes milliseconds, so a burst of new connections waited in the
 * kernel's queue for up to a second or two; each extra socket takes one more per turn. The
 * extra ones hand what they accept to `server`, which treats it as its own (timeouts, keep-
 * alive, closeIdleConnections). Returns the extra sockets, for closing.
 */
async function listen(server: Server, port: number, host: string, sockets: number) {
  if (sockets <= 1) {
    await listenOn(server, port, host, false);
    return [];
  }
  if (port !== 0) {
    // SO_REUSEPORT would let this process join another one already serving the port (e.g. a
    // second `tokengate serve` by mistake); a plain bind first makes that EADDRINUSE again.
    const probe = createNetServer();
    await listenOn(probe, port, host, false);
    await new Promise<void>((done) => probe.close(() => done()));
  }
  await listenOn(server, port, host, true);
  const actualPort = (server.address() as AddressInfo).port;
  const acceptors: NetServer[] = [];
  for (let k = 1; k < sockets; k++) {
    // The same socket options node:http gives its own connections.
    const acceptor = createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
      server.emit("connection", socket),
    );
    try {
      await listenOn(acceptor, actualPort, host, true);
    } catch {
      break; // the platform took fewer sockets than asked: serve with those it took
    }
    acceptors.push(acceptor);
  }
  return acceptors;
}

/**
 * Log lines to stdout, gathered per turn of the event loop: one write system call for many
 * lines instead of one each (stdout to a file or pipe is synchronous in Node).
 */
function batchedStdout(): { write: (line: string) => void; flush: () => void } {
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === "") return;
    const text = pending;
    pending = "";
    process.stdout.write(text);
  };
  return {
    write(line) {
      pending += line + "\n";
      if (pending.length > 65_536) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
