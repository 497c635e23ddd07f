/**
 * Whether an origin's answer may be kept in the gate's shared cache, and for how long (RFC 9111
 * as a shared cache reads it): the one rule both runtimes' caches follow. Pure: headers come in
 * through a lookup function, time as an argument.
 * @module
 */

/** What a shared cache may do with an answer. */
export type Storable = { store: true; ttlSeconds: number } | { store: false; why: string };

/** An answer's header by lower-case name (several lines joined with ", "), or undefined. */
export type HeaderLookup = (name: string) => string | undefined;

/**
 * The `Vary` names the gate's cache can honour: it asks the origin uncompressed. An origin's own
 * `Vary: Origin` (it answers CORS itself) cannot be: the key holds no `Origin`.
 */
const HONOURED_VARY = new Set(["accept-encoding"]);

/**
 * How long an answer stays fresh in a shared cache, or why it may not be stored: only a 200;
 * never with `no-store`, `private`, `no-cache`, `Set-Cookie` or a `Vary` on request headers the
 * key does not hold; lifetime from `s-maxage`, `max-age` (less `Age`), `Expires` − `Date`, or,
 * with none of them, 10 % of the time since `Last-Modified` (RFC 9111 §4.2.2), at most
 * `heuristicCapSeconds`. An answer with no freshness information is not stored.
 *
 * @param nowSeconds - The gate's clock, for answers without a `Date`.
 * @example
 * ```ts
 * storable(200, (name) => ({ "cache-control": "max-age=60" })[name], 1_800_000_000, 60);
 * // { store: true, ttlSeconds: 60 }
 * ```
 */
export function storable(
  status: number,
  header: HeaderLookup,
  nowSeconds: number,
  heuristicCapSeconds: number,
): Storable {
  if (status !== 200) return { store: false, why: `status ${status}` };
  const directives = cacheControl(header("cache-control") ?? "");
  for (const name of ["no-store", "private", "no-cache"]) {
    if (directives.has(name)) return { store: false, why: `Cache-Control: ${name}` };
  }
  if (header("set-cookie") !== undefined) return { store: false, why: "Set-Cookie" };
  const vary = (header("vary") ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
  const unkept = vary.find((name) => !HONOURED_VARY.has(name));
  if (unkept !== undefined) return { store: false, why: `Vary: ${unkept}` };
  const age = Math.max(0, wholeSeconds(header("age")) ?? 0);
  const explicit =
    wholeSeconds(directives.get("s-maxage")) ?? wholeSeconds(directives.get("max-age"));
  let ttl: number | undefined;
  if (explicit !== undefined) {
    ttl = explicit - age;
  } else {
    const date = httpDate(header("date")) ?? nowSeconds;
    const expiresText = header("expires");
    if (expiresText !== undefined) {
      // An Expires that does not parse means "already expired" (RFC 9111 §5.3).
      const expires = httpDate(expiresText);
      ttl = expires === undefined ? 0 : expires - date - age;
    } else {
      const modified = httpDate(header("last-modified"));
      if (modified === undefined) return { store: false, why: "no freshness information" };
      ttl = Math.min(Math.floor((date - modified) / 10), heuristicCapSeconds) - age;
    }
  }
  if (ttl <= 0) return { store: false, why: "stale on arrival" };
  return { store: true, ttlSeconds: ttl };
}

/** Cache-Control directives by lower-case name (value without quotes, "" when none). */
function cacheControl(text: string): Map<string, string> {
  const directives = new Map<string, string>();
  for (const part of text.split(",")) {
    const [rawName, ...rest] = part.split("=");
    const name = rawName!.trim().toLowerCase();
    if (name === "") continue;
    directives.set(
      name,
      rest
        .join("=")
        .trim()
        .replace(/^"(.*)"$/, "$1"),
    );
  }
  return directives;
}

function wholeSeconds(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  return Math.min(Number(text.trim()), 2 ** 31);
}

/** An HTTP date (IMF-fixdate, or the obsolete forms Date.parse reads) in unix seconds. */
function httpDate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * Whether an `If-None-Match` value names `etag` (RFC 9110 §13.1.2: a list of entity tags,
 * compared weakly, or `*`): then a cache answers 304. The one rule of both caches.
 *
 * @example
 * ```ts
 * noneMatch('"x", W/"v1"', '"v1"'); // true
 * ```
 */
export function noneMatch(header: string | undefined, etag: string | undefined): boolean {
  if (header === undefined || etag === undefined) return false;
  const opaque = (tag: string) => (tag.indexOf("W/") === 0 ? tag.slice(2) : tag);
  const own = opaque(etag.trim());
  const tags = header.split(",");
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!.trim();
    if (tag === "*" || (tag !== "" && opaque(tag) === own)) return true;
  }
  return false;
}
