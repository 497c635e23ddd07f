/**
 * How a real static server (nginx, Apache, a CDN's origin shield) answers a GET or HEAD for one
 * stored resource, after RFC 9110: the preconditions of §13.2.2 in their order (`If-Match`,
 * `If-Unmodified-Since` → 412; `If-None-Match`, `If-Modified-Since` → 304), then `Range`
 * (§14.2) under `If-Range` (§13.1.5): one satisfiable range → 206 with `Content-Range`, none
 * satisfiable → 416 with `Content-Range: bytes *\/<length>`, as is an invalid byte range
 * (`bytes=5-2`, `bytes=a-b`: nginx's choice, which §14.2 allows); another unit or several ranges
 * ignored → 200 whole. Held to nginx's answers by `origin-vs-nginx.test.ts`. Pure, so every test origin
 * (node:http ones, and the Worker pool's `fake-origin.ts`) answers alike.
 */

/** What the origin holds at a path. */
export interface Resource {
  body: Uint8Array;
  /** Strong (`"x"`) or weak (`W/"x"`) entity tag, or none. */
  etag?: string;
  /** An HTTP date, or none. */
  lastModified?: string;
  /** Further headers every answer carries (Content-Type, Cache-Control, …). */
  headers?: Record<string, string>;
}

/** The answer: status, headers (lower-case names) and body (undefined for HEAD, 304, 412, 416). */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

/** The entity tags of an `If-Match`/`If-None-Match` list, or `*`. */
function tagList(value: string): string[] | "*" {
  if (value.trim() === "*") return "*";
  const tags: string[] = [];
  const pattern = /\s*((?:W\/)?"[^"]*")\s*(?:,|$)/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(value)) !== null && match[0] !== "") tags.push(match[1]!);
  return tags;
}

const opaque = (tag: string) => (tag.startsWith("W/") ? tag.slice(2) : tag);
/** §8.8.3.2: strong comparison (neither weak, same opaque tag). */
const strongMatch = (a: string, b: string) => !a.startsWith("W/") && !b.startsWith("W/") && a === b;
/** §8.8.3.2: weak comparison (same opaque tag). */
const weakMatch = (a: string, b: string) => opaque(a) === opaque(b);

/** An HTTP date as seconds, or undefined when it is not one. */
function seconds(date: string | undefined): number | undefined {
  if (date === undefined) return undefined;
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** One satisfiable range, `unsatisfiable`, or undefined for a header ignored (§14.2). */
function byteRange(
  header: string,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (match === null) return undefined;
  const specs = match[1]!.split(",").map((spec) => spec.trim());
  if (specs.length !== 1) return undefined; // several: answered whole, as a server may
  // An invalid byte range (`bytes=5-2`, `bytes=a-b`, `bytes=-`): RFC 9110 §14.2 lets a server
  // ignore or reject it; nginx rejects it (416), and so does this.
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (spec === null || (spec[1] === "" && spec[2] === "")) return "unsatisfiable";
  if (spec[1] === "") {
    const suffix = Number(spec[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(spec[1]);
  const last = spec[2] === "" ? undefined : Number(spec[2]);
  if (last !== undefined && last < start) return "unsatisfiable";
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(last ?? size - 1, size - 1) };
}

/** A resource by its size and validators alone, for bodies too big to hold (see {@link decideFor}). */
export type Stored = Omit<Resource, "body"> & { size: number };

/** What {@link decideFor} decides: status, headers, and which bytes to send (none: `undefined`). */
export interface Decision {
  status: number;
  headers: Record<string, string>;
  bytes: { start: number; end: number } | undefined;
}

/**
 * The `header(name)` {@link answerFor} takes, read from node:http's `req.headers`: a header
 * sent more than once as one list (RFC 9110 §5.3).
 */
export function headerReader(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): (name: string) => string | undefined {
  return (name) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
}

/**
 * The answer to `method` with request headers `header(name)` (lower-case name) for `resource`.
 *
 * @example
 * ```ts
 * answerFor("GET", (name) => req.headers[name] as string | undefined, { body, etag: '"1"' });
 * ```
 */
export function answerFor(
  method: string,
  header: (name: string) => string | undefined,
  resource: Resource,
): Answer {
  const { body, ...rest } = resource;
  const decision = decideFor(method, header, { ...rest, size: body.byteLength });
  const bytes = decision.bytes;
  return {
    status: decision.status,
    headers: decision.headers,
    body: bytes === undefined ? undefined : body.subarray(bytes.start, bytes.end + 1),
  };
}

/** {@link answerFor} without the body: which bytes of `resource` to send, if any. */
export function decideFor(
  method: string,
  header: (name: string) => string | undefined,
  resource: Stored,
): Decision {
  const { size, etag, lastModified } = resource;
  const validators: Record<string, string> = { ...resource.headers };
  if (etag !== undefined) validators.etag = etag;
  if (lastModified !== undefined) validators["last-modified"] = lastModified;
  const modified = seconds(lastModified);
  const fail = (status: number, extra: Record<string, string> = {}): Decision => ({
    status,
    headers: { ...validators, ...extra },
    bytes: undefined,
  });
  // §13.2.2 step 1-2: If-Match, else If-Unmodified-Since.
  const ifMatch = header("if-match");
  if (ifMatch !== undefined) {
    const tags = tagList(ifMatch);
    const holds =
      tags === "*" ? true : etag !== undefined && tags.some((tag) => strongMatch(tag, etag));
    if (!holds) return fail(412, { "content-length": "0" });
  } else {
    const since = seconds(header("if-unmodified-since"));
    if (since !== undefined && modified !== undefined && modified > since) {
      return fail(412, { "content-length": "0" });
    }
  }
  // Step 3-4: If-None-Match (weak comparison), else If-Modified-Since (GET/HEAD only).
  const ifNoneMatch = header("if-none-match");
  if (ifNoneMatch !== undefined) {
    const tags = tagList(ifNoneMatch);
    const matches =
      tags === "*" ? true : etag !== undefined && tags.some((tag) => weakMatch(tag, etag));
    if (matches) return fail(304);
  } else {
    const since = seconds(header("if-modified-since"));
    if (since !== undefined && modified !== undefined && modified <= since) return fail(304);
  }
  const whole: Decision = {
    status: 200,
    headers: { ...validators, "accept-ranges": "bytes", "content-length": String(size) },
    bytes: method === "HEAD" || size === 0 ? undefined : { start: 0, end: size - 1 },
  };
  // Step 5: Range, for GET only (§14.2), under If-Range.
  const range = header("range");
  if (method !== "GET" || range === undefined) return whole;
  const ifRange = header("if-range");
  if (ifRange !== undefined) {
    const value = ifRange.trim();
    const holds =
      value.startsWith('"') || value.startsWith("W/")
        ? etag !== undefined && strongMatch(value, etag)
        : // A date validates only as the exact Last-Modified (§13.1.5).
          modified !== undefined && seconds(value) === modified;
    if (!holds) return whole;
  }
  const wanted = byteRange(range, size);
  if (wanted === undefined) return whole;
  if (wanted === "unsatisfiable") {
    return fail(416, { "content-range": `bytes */${size}`, "content-length": "0" });
  }
  return {
    status: 206,
    headers: {
      ...validators,
      "accept-ranges": "bytes",
      "content-range": `bytes ${wanted.start}-${wanted.end}/${size}`,
      "content-length": String(wanted.end - wanted.start + 1),
    },
    bytes: wanted,
  };
}
