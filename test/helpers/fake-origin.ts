/**
 * The origin the Worker sees in workerd tests: miniflare's `outboundService` hands every
 * subrequest to this function (in Node), so tests see exactly what the gate sent. It answers
 * Range, If-Range and conditional requests as a real server does (`http-semantics.ts`).
 */
import { answerFor } from "./http-semantics.js";

export const TEST_SECRET = "workerd-test-secret";

export async function fakeOrigin(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.hostname !== "origin.test") return new Response("unexpected host", { status: 599 });
  if (url.pathname.endsWith("/failing.ts"))
    return new Response("origin overloaded", { status: 503 });
  if (url.pathname.endsWith("/redirect.ts")) {
    return new Response(null, { status: 302, headers: { location: "https://elsewhere.test/" } });
  }
  if (url.pathname.endsWith("/missing.ts")) return new Response("no such file", { status: 404 });
  // Echo what arrived, so tests can assert on path, query, method and forwarded headers.
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name] = value));
  const body = JSON.stringify({
    method: request.method,
    path: url.pathname,
    query: url.search,
    headers,
  });
  const answer = answerFor(request.method, (name) => request.headers.get(name) ?? undefined, {
    body: new TextEncoder().encode(body),
    etag: '"v1"',
    lastModified: "Wed, 21 Oct 2015 07:28:00 GMT",
    // The method it got, also on a HEAD's bodiless answer.
    headers: {
      "content-type": "application/json",
      "x-origin": "fake",
      "x-origin-method": request.method,
    },
  });
  return new Response(answer.body ?? null, { status: answer.status, headers: answer.headers });
}
