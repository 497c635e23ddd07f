/**
 * An origin for generated attacks: node:http on 127.0.0.1 (keep-alive) that records what each
 * request carried (method, target, headers, body bytes; matched to its attack by `X-Req`) and
 * answers it as a real static server does (`http-semantics.ts`: Range 206/416, If-Range,
 * conditionals 304/412, HEAD). A fake that always answers 200 whole once hid a player defect:
 * a gate must pass a partial or empty answer on as faithfully as a whole one.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { OriginSeen } from "./attacks.js";
import { answerFor, headerReader, type Answer, type Resource } from "./http-semantics.js";

/** The Last-Modified of every resource, so an attack can send a matching If-Modified-Since. */
export const MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT";

/** What the origin received for one request, and what it answered. */
export interface Recorded extends OriginSeen {
  /** The request's `X-Req`, or -1 without one. */
  id: number;
  answer: Answer;
}

export interface RecordingOrigin {
  /** Every request received, in order; a test takes them out with `splice(0)`. */
  seen: Recorded[];
  /** host:port, as the gates' origin requests carry it in `Host`. */
  host: string;
  url: string;
  close(): Promise<void>;
}

/**
 * The resource a body stands for: a strong ETag of its bytes, {@link MODIFIED}, and a media type.
 *
 * @param body - The bytes, as latin1 text (one char a byte, as raw exchanges read answers).
 */
export function resourceOf(body: string): Resource {
  const bytes = Buffer.from(body, "latin1");
  return {
    body: bytes,
    etag: `"${createHash("md5").update(bytes).digest("hex").slice(0, 16)}"`,
    lastModified: MODIFIED,
    headers: { "content-type": "video/mp2t" },
  };
}

/**
 * Why a gate's answer (`status`, then the body read as latin1, of a request made with `method`)
 * is not the origin's answer to the request it forwarded, or undefined when it is: the same
 * status, and for GET the bytes the origin sent for that request alone — the whole resource,
 * or of a 206 exactly the requested range, labelled by the same `Content-Range`.
 */
export function notItsOwnAnswer(
  method: string,
  status: number,
  head: string,
  body: string,
  recorded: Recorded,
): string | undefined {
  const answer = recorded.answer;
  if (status !== answer.status) return `answered ${status}, the origin ${answer.status}`;
  if (method !== "GET") return undefined;
  const own = answer.body === undefined ? "" : Buffer.from(answer.body).toString("latin1");
  if (body !== own) {
    return `answered other bytes than its own ${JSON.stringify(own)}: ${JSON.stringify(body.slice(0, 40))}`;
  }
  const range = answer.headers["content-range"];
  const escaped = range?.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  if (range !== undefined && !new RegExp(`^content-range: ?${escaped}\\r?$`, "im").test(head)) {
    return `answered without the origin's Content-Range ${range}`;
  }
  return undefined;
}

/**
 * Starts the origin.
 *
 * @param bodyFor - The bytes (latin1 text) the resource holds for the request with `X-Req: id`
 *   at target `url`: an attack's own id makes an answer tell whose it is.
 * @returns The origin; the test that started it closes it.
 * @example
 * ```ts
 * const origin = await recordingOrigin((id) => `ok ${id}`);
 * ```
 */
export async function recordingOrigin(
  bodyFor: (id: number, url: string) => string,
): Promise<RecordingOrigin> {
  const seen: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on("data", (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on("end", () => {
      const id = Number(req.headers["x-req"] ?? -1);
      const method = req.method ?? "";
      const url = req.url ?? "";
      const header = headerReader(req.headers);
      const answer = answerFor(method, header, resourceOf(bodyFor(id, url)));
      seen.push({ id, method, url, headers: req.headers, bodyBytes, answer });
      res.writeHead(answer.status, answer.headers);
      res.end(method === "HEAD" ? undefined : answer.body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  return {
    seen,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
