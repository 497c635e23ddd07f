/**
 * What the origin is sent, on every runtime (issue 20): only the request headers of the one
 * allow-list (`src/http/headers.ts`) plus the operator's FORWARD_HEADERS; beside a CDN query
 * token, no parameter an origin could read as `md5` or `expires`; and an origin's redirect
 * never shows the origin's address (its host, in any scheme or port, is made relative, without
 * ORIGIN_URL's path), in `Location`, `Refresh`, `Content-Location` or `Link`.
 */

const expires = Math.floor(Date.now() / 1000) + 3600;
/** A CDN-token link to `/images/a.jpg` with `extra` after its token. */
function cdnLink(extra: string): string {
  const md5 = signQueryToken({ path: "/images/a.jpg", secret: SECRET, expires });
  return `/images/a.jpg?md5=${md5}&expires=${expires}${extra}`;
}
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQueryToken } from "../../src/core/query-token.js";
import { get } from "../helpers/http.js";
import { SECRET, signedPath } from "../helpers/links.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { RUNTIMES, type Gate } from "../helpers/runtimes.js";

describe.each(Object.keys(RUNTIMES))("the origin's request through %s", (which) => {
  let origin: Origin;
  let gate: Gate;
  beforeAll(async () => {
    origin = await startOrigin();
    gate = await RUNTIMES[which]!({
      ORIGIN_URL: `${origin.url}/base`,
      SECRET,
      FORWARD_HEADERS: "X-Playback-Session-Id",
      QUERY_TOKEN_PREFIXES: "images",
    });
  });
  afterAll(async () => {
    await gate?.close();
    await origin?.close();
  });

  it("carries only the allow-list and FORWARD_HEADERS, never a header an origin acts on", async () => {
    const before = origin.requests.length;
    const answer = await get(gate.url + signedPath("a.ts"), {
      headers: {
        Range: "bytes=0-3",
        "User-Agent": "AppleCoreMedia/1.0",
        "X-Playback-Session-Id": "F00D",
        "X-Custom-IP-Authorization": "127.0.0.1",
        "X-Accel-Redirect": "/internal/secret.mp4",
        "X-Sendfile": "/etc/passwd",
        "X-Foo": "bar",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Cache-Control": "no-cache",
      },
    });
    expect(answer.status).toBe(206);
    expect(origin.requests.length).toBe(before + 1);
    const seen = origin.requests[before]!.headers;
    expect(seen.range).toBe("bytes=0-3");
    expect(seen["user-agent"]).toBe("AppleCoreMedia/1.0");
    expect(seen["x-playback-session-id"]).toBe("F00D");
    expect(seen["x-forwarded-proto"]).toBe("http");
    for (const name of [
      "x-custom-ip-authorization",
      "x-accel-redirect",
      "x-sendfile",
      "x-foo",
      "sec-websocket-key",
      "cache-control",
    ]) {
      expect(seen[name], name).toBeUndefined();
    }
  });

  it.each([
    "&amp;md5=x",
    "&md5[]=x",
    "&expires%00=1",
    "&a=1;md5=x",
    "&MD5=x",
    "&%6Dd5=x",
    "&Expires=1",
  ])(
    "refuses a CDN link with %s beside its token (403), and the origin is not asked",
    async (extra) => {
      const before = origin.requests.length;
      const answer = await get(gate.url + cdnLink(extra));
      expect(answer.status).toBe(403);
      expect(origin.requests.length).toBe(before);
    },
  );

  it("passes the other parameters of a CDN link on, without the token", async () => {
    const before = origin.requests.length;
    const answer = await get(gate.url + cdnLink("&part=4&md5sum=x;b=2"));
    expect(answer.status).toBe(200);
    expect(origin.requests[before]!.url).toBe("/base/images/a.jpg?part=4&md5sum=x;b=2");
  });
});

/** Where the redirecting origin sends each file, `ORIGIN` standing for its own `host:port`. */
const REDIRECTS: [file: string, location: string, seen: string][] = [
  ["abs.ts", "http://ORIGIN/base/videos/x/new.ts?a=1#f", "/videos/x/new.ts?a=1#f"],
  ["proto-relative.ts", "//ORIGIN/base/elsewhere.ts", "/elsewhere.ts"],
  ["bare.ts", "http://ORIGIN", "/"],
  ["prefix.ts", "http://ORIGIN/base", "/"],
  ["prefix-query.ts", "http://ORIGIN/base?x=1", "/?x=1"],
  ["outside.ts", "http://ORIGIN/other/x.ts", "/other/x.ts"],
  ["basement.ts", "http://ORIGIN/basement", "/basement"],
  ["upper.ts", "HTTP://ORIGIN/base/x.ts", "/x.ts"],
  ["other-scheme.ts", "https://ORIGIN/base/x.ts", "/x.ts"],
  ["userinfo.ts", "http://user@ORIGIN/base/z.ts", "/z.ts"],
  ["path.ts", "/base/y.ts", "/y.ts"],
  ["relative.ts", "next.ts", "next.ts"],
  ["foreign.ts", "https://cdn.example/base/x.ts", "https://cdn.example/base/x.ts"],
  // Red team: a path on the origin that starts with two slashes, made relative, read as another
  // host (an open redirect); `/.` in front keeps it a path on the gate.
  ["double.ts", "http://ORIGIN//evil.example/x", "/.//evil.example/x"],
  ["double-base.ts", "http://ORIGIN/base//evil.example/x", "/.//evil.example/x"],
  ["double-path.ts", "/base//evil.example/x", "/.//evil.example/x"],
  ["backslash.ts", "http://ORIGIN/base/\\evil.example/x", "/.//evil.example/x"],
];

describe.each(Object.keys(RUNTIMES))("an origin's redirect through %s", (which) => {
  let server: Server;
  let port = 0;
  let gate: Gate;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const file = (req.url ?? "").split("?")[0]!.split("/").at(-1)!;
      const row = REDIRECTS.find(([name]) => name === file);
      if (row === undefined) {
        res.writeHead(404, { "content-length": "0" });
        return void res.end();
      }
      const location = row[1].replace("ORIGIN", `127.0.0.1:${port}`);
      res.writeHead(302, {
        location,
        refresh: `0; URL=${location}`,
        "content-location": location,
        link: `<${location}>; rel=preload; as=video, <https://cdn.example/c.ts>;rel="canonical"`,
        "content-length": "0",
      });
      res.end();
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
    gate = await RUNTIMES[which]!({ ORIGIN_URL: `http://127.0.0.1:${port}/base`, SECRET });
  });
  afterAll(async () => {
    await gate?.close();
    server?.closeAllConnections();
    await new Promise((done) => server?.close(done));
  });

  it.each(REDIRECTS)(
    "shows %s's Location %s as %s: never the origin's address",
    async (file, _, seen) => {
      for (const method of ["GET", "HEAD"]) {
        const answer = await get(gate.url + signedPath(file), { method });
        expect(answer.status).toBe(302);
        expect(answer.headers.location).toBe(seen);
        expect(answer.headers.refresh).toBe(`0; URL=${seen}`);
        // Servers and packagers name the resource by the Host they were asked with too.
        expect(answer.headers["content-location"]).toBe(seen);
        // nginx's native path runs no njs: a Link naming the origin is dropped, not rewritten.
        const dropped = which.startsWith("nginx") && seen !== _ && !seen.startsWith("https:");
        expect(answer.headers.link).toBe(
          dropped
            ? undefined
            : `<${seen}>; rel=preload; as=video, <https://cdn.example/c.ts>;rel="canonical"`,
        );
      }
    },
  );
});

// Outside attack: a Refresh written `URL = …` (browsers follow it) and a Link's anchor kept the
// origin's address on every runtime. On nginx an escaped file name keeps the request off the
// native path (whose differences docs/nginx.md lists).
describe.each(Object.keys(RUNTIMES))(
  "the origin's address in Refresh and Link through %s",
  (which) => {
    let server: Server;
    let port = 0;
    let gate: Gate;
    beforeAll(async () => {
      server = createServer((_, res) => {
        const at = `http://127.0.0.1:${port}/base/videos/x.ts`;
        res.writeHead(200, {
          refresh: `0; URL = ${at}`,
          link: `<a.ts>; rel=preload; anchor="${at}"`,
          // Headers that have a browser fetch or report to a URL of their own.
          "speculation-rules": `"${at}.json"`,
          "reporting-endpoints": `default="${at}"`,
          "report-to": `{"endpoints":[{"url":"${at}"}]}`,
          nel: '{"report_to":"default","max_age":60}',
          // The origin's alternative services, which a browser would take for the gate's own.
          "alt-svc": `h2="127.0.0.1:${port}"; ma=86400`,
          // A policy that enforces nothing: its one effect is reports posted to the origin.
          "content-security-policy-report-only": `default-src 'none'; report-uri ${at}`,
          "content-length": "2",
        });
        res.end("ok");
      });
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      port = (server.address() as AddressInfo).port;
      gate = await RUNTIMES[which]!({ ORIGIN_URL: `http://127.0.0.1:${port}/base`, SECRET });
    });
    afterAll(async () => {
      await gate?.close();
      server?.closeAllConnections();
      await new Promise((done) => server?.close(done));
    });

    it("shows neither with the origin's address", async () => {
      const answer = await get(gate.url + signedPath("%61.ts"));
      expect(answer.status).toBe(200);
      expect(answer.headers.refresh).toBe("0; URL = /videos/x.ts");
      expect(answer.headers.link).toBe('<a.ts>; rel=preload; anchor="/videos/x.ts"');
    });

    // Red team, round two: Chromium fetched the rules a Speculation-Rules header names, from the
    // origin itself; the reporting headers have a browser post to a URL of the origin's too.
    it("passes on no header that has a browser fetch or report elsewhere", async () => {
      for (const file of ["a.ts", "%61.ts"]) {
        const answer = await get(gate.url + signedPath(file));
        expect(answer.status, file).toBe(200);
        for (const name of [
          "speculation-rules",
          "reporting-endpoints",
          "report-to",
          "nel",
          "alt-svc",
          "content-security-policy-report-only",
        ]) {
          expect(answer.headers[name], `${file} ${name}`).toBeUndefined();
        }
      }
    });
  },
);
