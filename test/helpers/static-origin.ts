/**
 * An origin that serves fixed files as a web server does: node:http on 127.0.0.1, keep-alive,
 * `ETag` and `Last-Modified`, `HEAD`, a single `Range` (206, or 416 past the end),
 * `If-None-Match`/`If-Modified-Since` (304), 404 for anything it does not hold.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface StaticFile {
  type: string;
  body: Buffer;
}

export interface StaticOrigin {
  url: string;
  /** The files served, by path (without query): add or replace them at any time. */
  files: Map<string, StaticFile>;
  /** Every request's target, in order. */
  seen: string[];
  close(): Promise<void>;
}

const MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT";

export async function staticOrigin(): Promise<StaticOrigin> {
  const files = new Map<string, StaticFile>();
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/";
    seen.push(url);
    const file = files.get(url.split("?")[0]!);
    if (file === undefined) {
      res.writeHead(404, { "content-type": "text/plain", "content-length": "10" });
      return void res.end(req.method === "HEAD" ? undefined : "not found\n");
    }
    const size = file.body.length;
    const etag = `"${createHash("md5").update(file.body).digest("hex").slice(0, 16)}"`;
    const headers: Record<string, string> = {
      "content-type": file.type,
      etag,
      "last-modified": MODIFIED,
      "accept-ranges": "bytes",
    };
    const inm = req.headers["if-none-match"];
    if (inm !== undefined ? inm === etag : req.headers["if-modified-since"] === MODIFIED) {
      res.writeHead(304, headers);
      return void res.end();
    }
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ""));
    const ifRange = req.headers["if-range"];
    if (range && (range[1] !== "" || range[2] !== "") && (!ifRange || ifRange === etag)) {
      const start = range[1] === "" ? Math.max(0, size - Number(range[2])) : Number(range[1]);
      const end =
        range[1] === "" || range[2] === "" ? size - 1 : Math.min(Number(range[2]), size - 1);
      if (start >= size || start > end) {
        res.writeHead(416, { "content-range": `bytes */${size}` });
        return void res.end();
      }
      res.writeHead(206, {
        ...headers,
        "content-range": `bytes ${start}-${end}/${size}`,
        "content-length": String(end - start + 1),
      });
      return void res.end(req.method === "HEAD" ? undefined : file.body.subarray(start, end + 1));
    }
    res.writeHead(200, { ...headers, "content-length": String(size) });
    res.end(req.method === "HEAD" ? undefined : file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    files,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
