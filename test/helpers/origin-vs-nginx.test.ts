/**
 * The test origin (`origin.ts`, answering through `http-semantics.ts`) held to a real static
 * server: Debian's nginx serves the same bytes from a folder, with the same Last-Modified, and
 * both are asked the same questions. Status, Content-Range, Content-Length and body must agree.
 * Each side is asked with its own entity tag (nginx makes its own from mtime and size).
 *
 * Where nginx is stricter or looser than RFC 9110 mandates, the test origin follows nginx and the
 * case says so; nginx is configured with `if_modified_since before` (RFC 9110 §13.1.3: "earlier
 * than or equal to"; nginx's default, `exact`, is a choice of its own).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, NGINX, nginxAvailable } from "./nginx.js";
import { startOrigin, type Origin } from "./origin.js";

/** The one file both serve: what `origin.ts` answers for this path, as a file for nginx. */
const PATH = "/videos/sample.ts";
const BODY = Buffer.from(`content of ${PATH}`);
const LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT";
const EARLIER = "Tue, 20 Oct 2015 07:28:00 GMT";
const LATER = "Thu, 22 Oct 2015 07:28:00 GMT";

interface Seen {
  status: number;
  contentRange: string | undefined;
  contentLength: string | undefined;
  body: string;
  etag: string | undefined;
  lastModified: string | undefined;
}

function ask(base: string, method: string, headers: Record<string, string>): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = request(base + PATH, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          contentRange: res.headers["content-range"],
          contentLength: res.headers["content-length"],
          body: Buffer.concat(chunks).toString("latin1"),
          etag: res.headers.etag,
          lastModified: res.headers["last-modified"],
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A case: request headers made from the server's own validators. */
type Case = [string, string, (v: { etag: string; lastModified: string }) => Record<string, string>];

const size = BODY.length;
const CASES: Case[] = [
  ["GET", "plain", () => ({})],
  ["HEAD", "plain", () => ({})],
  ["GET", "a single range", () => ({ range: "bytes=2-5" })],
  ["GET", "a range past the end, cut at it", () => ({ range: `bytes=3-${size + 50}` })],
  ["GET", "a suffix range", () => ({ range: "bytes=-4" })],
  ["GET", "a suffix range longer than the body", () => ({ range: `bytes=-${size + 10}` })],
  ["GET", "an open range", () => ({ range: "bytes=7-" })],
  ["GET", "the last byte", () => ({ range: `bytes=${size - 1}-` })],
  ["GET", "a range starting at the end (416)", () => ({ range: `bytes=${size}-` })],
  [
    "GET",
    "a range starting past the end (416)",
    () => ({ range: `bytes=${size + 5}-${size + 9}` }),
  ],
  ["GET", "another unit (ignored)", () => ({ range: "items=0-1" })],
  // Invalid byte ranges: §14.2 lets a server ignore or reject them; nginx rejects them (416).
  ["GET", "a malformed range (416)", () => ({ range: "bytes=a-b" })],
  ["GET", "an empty range spec (416)", () => ({ range: "bytes=-" })],
  ["GET", "a range ending before it starts (416)", () => ({ range: "bytes=5-2" })],
  ["GET", "a zero-length suffix (416)", () => ({ range: "bytes=-0" })],
  ["GET", "a range with spaces after the unit", () => ({ range: "bytes= 2-5" })],
  ["GET", "If-Range with the ETag (range)", (v) => ({ range: "bytes=2-5", "if-range": v.etag })],
  ["GET", "If-Range with another ETag (whole)", () => ({ range: "bytes=2-5", "if-range": '"x"' })],
  [
    "GET",
    "If-Range with the date (range)",
    (v) => ({ range: "bytes=2-5", "if-range": v.lastModified }),
  ],
  [
    "GET",
    "If-Range with another date (whole)",
    () => ({ range: "bytes=2-5", "if-range": EARLIER }),
  ],
  ["GET", "If-None-Match with the ETag (304)", (v) => ({ "if-none-match": v.etag })],
  ["HEAD", "If-None-Match with the ETag on HEAD (304)", (v) => ({ "if-none-match": v.etag })],
  ["GET", "If-None-Match with W/ and the ETag (304)", (v) => ({ "if-none-match": `W/${v.etag}` })],
  [
    "GET",
    "If-None-Match with a list holding it (304)",
    (v) => ({ "if-none-match": `"a", ${v.etag}, "b"` }),
  ],
  ["GET", "If-None-Match with a list without it (200)", () => ({ "if-none-match": '"a", "b"' })],
  ["GET", "If-None-Match: * (304)", () => ({ "if-none-match": "*" })],
  ["GET", "If-None-Match with another ETag (200)", () => ({ "if-none-match": '"other"' })],
  ["GET", "If-Modified-Since the date (304)", (v) => ({ "if-modified-since": v.lastModified })],
  ["GET", "If-Modified-Since a later date (304)", () => ({ "if-modified-since": LATER })],
  ["GET", "If-Modified-Since an earlier date (200)", () => ({ "if-modified-since": EARLIER })],
  ["GET", "If-Modified-Since junk (200)", () => ({ "if-modified-since": "yesterday" })],
  [
    "GET",
    "If-None-Match wins over If-Modified-Since (200)",
    (v) => ({ "if-none-match": '"other"', "if-modified-since": v.lastModified }),
  ],
  [
    "GET",
    "a range under If-None-Match that matches (304)",
    (v) => ({ range: "bytes=2-5", "if-none-match": v.etag }),
  ],
];

describe("the test origin answers as nginx serving the same file", () => {
  const present = nginxAvailable();
  let origin: Origin;
  let nginx: ChildProcess | undefined;
  let nginxUrl = "";
  let dir = "";
  const validators: Record<"origin" | "nginx", { etag: string; lastModified: string }> = {
    origin: { etag: "", lastModified: "" },
    nginx: { etag: "", lastModified: "" },
  };

  beforeAll(async () => {
    origin = await startOrigin();
    dir = mkdtempSync(join(tmpdir(), "origin-vs-nginx-"));
    const root = join(dir, "root");
    mkdirSync(join(root, "videos"), { recursive: true });
    writeFileSync(join(root, PATH), BODY);
    const mtime = new Date(LAST_MODIFIED);
    utimesSync(join(root, PATH), mtime, mtime);
    const port = await freePort();
    // One process, in the foreground, as this user: no worker to drop to a user that cannot
    // read the temporary folder.
    writeFileSync(
      join(dir, "nginx.conf"),
      [
        "daemon off;",
        "master_process off;",
        `pid ${join(dir, "nginx.pid")};`,
        `error_log ${join(dir, "error.log")} warn;`,
        "events { worker_connections 64; }",
        "http {",
        "  access_log off;",
        `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;`,
        `  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
        "  if_modified_since before;",
        `  server { listen 127.0.0.1:${port}; root ${root}; location / { } }`,
        "}",
        "",
      ].join("\n"),
    );
    nginx = spawn(NGINX, ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
    nginxUrl = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        await ask(nginxUrl, "HEAD", {});
        break;
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    for (const [name, base] of [
      ["origin", origin.url],
      ["nginx", nginxUrl],
    ] as const) {
      const plain = await ask(base, "GET", {});
      validators[name] = { etag: plain.etag ?? "", lastModified: plain.lastModified ?? "" };
    }
  });
  afterAll(async () => {
    nginx?.kill("SIGTERM");
    if (nginx !== undefined && nginx.exitCode === null) {
      await new Promise((resolve) => nginx!.once("exit", resolve));
    }
    await origin?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is nginx, with a strong ETag and the same Last-Modified on each side", () => {
    expect(present).toBe(true);
    for (const side of ["origin", "nginx"] as const) {
      expect(validators[side].etag, side).toMatch(/^"[^"]+"$/);
      expect(validators[side].lastModified, side).toBe(LAST_MODIFIED);
    }
  });

  // RFC 9110 §14.2: "GET is the only method for which range handling is defined", and a
  // server MUST ignore a Range on another method; nginx answers a HEAD with a range 206. The
  // test origin keeps to the RFC: this is the one difference, and it is pinned here.
  it("HEAD with a range: 200 from the test origin (RFC 9110 §14.2), 206 from nginx", async () => {
    const [ours, theirs] = await Promise.all([
      ask(origin.url, "HEAD", { range: "bytes=2-5" }),
      ask(nginxUrl, "HEAD", { range: "bytes=2-5" }),
    ]);
    expect([ours.status, ours.contentRange, ours.contentLength, ours.body]).toEqual([
      200,
      undefined,
      String(size),
      "",
    ]);
    expect([theirs.status, theirs.contentRange, theirs.body]).toEqual([206, "bytes 2-5/28", ""]);
  });

  it.each(CASES)("%s with %s", async (method, _, headers) => {
    const [ours, theirs] = await Promise.all([
      ask(origin.url, method, headers(validators.origin)),
      ask(nginxUrl, method, headers(validators.nginx)),
    ]);
    const compared = (seen: Seen) => ({
      status: seen.status,
      contentRange: seen.contentRange,
      // nginx's 416 carries its own HTML error page; the body of a 416 is not specified by
      // RFC 9110 (§15.5.17), and a gate passes it on as it is: not compared.
      contentLength: seen.status === 416 ? "(not compared)" : seen.contentLength,
      body: seen.status === 416 ? "(not compared)" : seen.body,
    });
    expect(compared(ours)).toEqual(compared(theirs));
  });
});
