/**
 * A real origin for tests: node:http on 127.0.0.1 and an ephemeral port. It records every
 * request it receives and serves deterministic bytes:
 * - `…/big-<bytes>.ts` (or `.mp4`): that many bytes (or the range asked for), written in 1 MiB
 *   chunks with back-pressure, the first chunk late so a client can prove it reads while the
 *   origin is still sending;
 * - `…/slow-headers.ts`: headers only after `slowHeadersMs`;
 * - `…/drip.ts`: 64 KiB bodies in 20 writes 50 ms apart, for abort tests;
 * - `…/cut.ts`: announces 1 MiB, sends 64 KiB, then destroys the socket;
 * - `…/stall.ts`: announces 1 MiB, sends 64 KiB, then nothing until the client goes away;
 * - anything else: `content of <path>`, answered as a real static server answers (ETag,
 *   Last-Modified, Range 206/416, If-Range, conditional 304/412, HEAD): `http-semantics.ts`.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { answerFor, decideFor } from "./http-semantics.js";

/** A request header as one string (several of a name joined as RFC 9110 §5.3 allows). */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

export interface Origin {
  url: string;
  port: number;
  requests: { method: string; url: string; headers: IncomingMessage["headers"] }[];
  /** Paths of requests whose client went away before the response finished. */
  aborted: string[];
  /** Bytes of big files handed to the socket so far, across requests. */
  bigSent: number;
  close(): Promise<void>;
}

const CHUNK = 1024 * 1024;

/** Byte i of a big file: cheap to produce and to check. */
export function bigByte(i: number): number {
  return (i * 31 + (i >>> 16)) & 0xff;
}

export function bigChunk(offset: number, length: number): Buffer {
  const chunk = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) chunk[i] = bigByte(offset + i);
  return chunk;
}

export interface OriginOptions {
  slowHeadersMs?: number;
  firstByteDelayMs?: number;
  /** Pause between 1 MiB chunks of big files. */
  chunkDelayMs?: number;
}

export async function startOrigin(options: OriginOptions = {}): Promise<Origin> {
  const requests: Origin["requests"] = [];
  const aborted: string[] = [];
  // Assigned once the port is known; the handler only runs after that.
  let origin: Origin;
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/";
    requests.push({ method: req.method ?? "", url, headers: req.headers });
    const path = url.split("?")[0]!;
    req.on("close", () => {
      if (!res.writableFinished) aborted.push(path);
    });
    const big = /\/big-(\d+)\.(?:ts|mp4)$/.exec(path);
    if (big) {
      // Ranges as a real server answers them; no validators, so no cache keeps it by heuristic.
      const decision = decideFor(req.method ?? "GET", (name) => headerValue(req, name), {
        size: Number(big[1]),
        headers: { "content-type": "video/mp2t" },
      });
      res.writeHead(decision.status, decision.headers);
      if (decision.bytes === undefined) return void res.end();
      const total = decision.bytes.end + 1;
      let sent = decision.bytes.start;
      const pump = (): void => {
        while (sent < total && !res.destroyed) {
          const n = Math.min(CHUNK, total - sent);
          const ok = res.write(bigChunk(sent, n));
          sent += n;
          origin.bigSent += n;
          if (options.chunkDelayMs) {
            if (ok) setTimeout(pump, options.chunkDelayMs);
            else res.once("drain", () => setTimeout(pump, options.chunkDelayMs));
            return;
          }
          if (!ok) return void res.once("drain", pump);
        }
        res.end();
      };
      setTimeout(pump, options.firstByteDelayMs ?? 0);
      return;
    }
    if (path.endsWith("/slow-headers.ts")) {
      const timer = setTimeout(() => res.end("late"), options.slowHeadersMs ?? 5000);
      res.on("close", () => clearTimeout(timer));
      return;
    }
    if (path.endsWith("/drip.ts")) {
      res.writeHead(200, { "content-type": "video/mp2t", "content-length": String(20 * 3277) });
      let n = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(3277, 0x61));
        if (++n === 20) {
          clearInterval(timer);
          res.end();
        }
      }, 50);
      res.on("close", () => clearInterval(timer));
      return;
    }
    if (path.endsWith("/stall.ts")) {
      res.writeHead(200, { "content-type": "video/mp2t", "content-length": String(CHUNK) });
      res.write(Buffer.alloc(64 * 1024, 0x63));
      res.on("close", () => {
        if (!res.writableFinished) origin.aborted.push(path);
      });
      return;
    }
    if (path.endsWith("/cut.ts")) {
      res.writeHead(200, { "content-type": "video/mp2t", "content-length": String(CHUNK) });
      res.write(Buffer.alloc(64 * 1024, 0x62), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    if (path.endsWith("/missing.ts")) {
      // What a real origin says of a file it lacks.
      const missing = Buffer.from("Not Found\n");
      res.writeHead(404, { "content-type": "text/plain", "content-length": missing.length });
      res.end(req.method === "HEAD" ? undefined : missing);
      return;
    }
    const body = Buffer.from(`content of ${path}`);
    const answer = answerFor(req.method ?? "GET", (name) => headerValue(req, name), {
      body,
      etag: `"${body.length}-${path.length}"`,
      lastModified: "Wed, 21 Oct 2015 07:28:00 GMT",
      headers: {
        "content-type": path.endsWith(".m3u8") ? "application/vnd.apple.mpegurl" : "video/mp2t",
        "x-origin-query": url.includes("?") ? url.slice(url.indexOf("?")) : "",
      },
    });
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  origin = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    aborted,
    bigSent: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return origin;
}
