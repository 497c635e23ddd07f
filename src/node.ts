/**
 * The self-hosted gate: the same Hono app as the Worker, served by `@hono/node-server`, with
 * the origin reached through pooled HTTP/1.1 connections (see `node-proxy.ts`), an access log, `/healthz`
 * and graceful shutdown. `tokengate serve` (cli.ts) starts it from settings.
 * @module
 */
import { getRequestListener, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { MiddlewareHandler } from "hono";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp } from "./app.js";
import type { LogFormat } from "./config.js";
import { decide, rejectionResponse } from "./gate.js";
import { accessLine, messageLine } from "./log.js";
import type { SecureLinkVariables } from "./middleware.js";
import { createNodeProxy, type ProxyOutcome } from "./node-proxy.js";
import type { Settings } from "./settings.js";

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
}

/** A running gate. */
export interface GateServer {
  /** `http://host:port` */
  url: string;
  port: number;
  server: Server;
  /** Stops accepting, lets in-flight responses finish (up to `shutdownMs`), then resolves. */
  close(): Promise<void>;
}

type NodeEnv = { Bindings: HttpBindings; Variables: SecureLinkVariables };

/**
 * Starts the gate on Node.
 *
 * @example
 * ```ts
 * import { readSettings } from "tokengate";
 * import { startGateServer } from "tokengate/node";
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
  const outcomes = new WeakMap<IncomingMessage, ProxyOutcome>();
  const proxy = createNodeProxy({
    origin: settings.origin,
    timeoutMs: settings.originTimeoutMs,
    onError: (reason, message) => write(messageLine(format, "error", `${reason}: ${message}`)),
  });

  // Copies the gate's decision into the request's log record once the app has answered.
  const recordDecision: MiddlewareHandler<NodeEnv> = async function recordDecision(c, next) {
    await next();
    const decision = c.get("secureLink");
    const outcome = outcomes.get(c.env.incoming);
    if (outcome !== undefined && decision?.action === "reject") outcome.reason = decision.reason;
  };

  const app = createApp<NodeEnv>(settings, {
    // @hono/node-server resolves `..` and `%2e` in c.req.url; judge what the client sent.
    target: (c) => (c.env as HttpBindings).incoming.url ?? "/",
    use: [recordDecision as MiddlewareHandler],
    routes: (app) => app.get("/healthz", (c) => c.text("ok")),
    proxy: async (c, grant) => {
      const { incoming, outgoing } = c.env as HttpBindings;
      const outcome = outcomes.get(incoming) ?? { bytes: 0 };
      // Hono answers HEAD by wrapping the GET response, so HEAD must return a real Response;
      // GET streams straight into the Node response and tells node-server it is sent.
      if (incoming.method === "HEAD") return proxy.head(incoming, grant.target, outcome);
      proxy.forward(incoming, outgoing, grant.target, outcome);
      return RESPONSE_ALREADY_SENT;
    },
    log: (event) => write(messageLine(format, "error", `${event.reason}: ${event.message}`)),
  });

  const listener = getRequestListener(app.fetch, {
    // Targets @hono/node-server cannot turn into a URL (a backslash, a bad Host) never reach
    // the app: answer like the gate would for an unsafe path.
    errorHandler: () => rejectionResponse("unsafe-path"),
  });

  const gate = settings.gate;
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, (req, res) => {
    const started = performance.now();
    const outcome: ProxyOutcome = { bytes: -1 };
    res.once("close", () => {
      const status = res.statusCode;
      const bytes =
        outcome.bytes >= 0
          ? outcome.bytes
          : req.method === "HEAD"
            ? 0
            : Number(res.getHeader("content-length") ?? 0);
      const reason = outcome.reason ?? (status === 404 ? "not-found" : undefined);
      write(
        accessLine(format, {
          method: req.method ?? "",
          target: req.url ?? "",
          status,
          reason,
          bytes,
          ms: performance.now() - started,
        }),
      );
    });
    // Fast path for the hot case, a granted GET: stream from the origin without building a
    // Request, a Hono Context and a Response (profiling put them at a third of the CPU).
    // Everything else (refusals, HEAD, /healthz) goes through the app, which decides with the
    // same `decide()` on the same raw target, so the behaviour table is one.
    if (req.method === "GET") {
      const decision = decide("GET", req.url ?? "/", gate);
      if (decision.action === "proxy") return proxy.forward(req, res, decision.target, outcome);
    }
    outcomes.set(req, outcome);
    listener(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8787, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => {
        clearInterval(idleSweep);
        clearTimeout(deadline);
        proxy.close();
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

  return { url: `http://${host}:${address.port}`, port: address.port, server, close };
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
