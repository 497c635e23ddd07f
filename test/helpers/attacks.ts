/**
 * Generated attacks on the gate (fast-check): valid links, signed here, then mutated byte by
 * byte and segment by segment, sent with hostile methods, targets, headers and bodies; and the
 * oracle that says what the gate may do with each. The oracle does not call the gate's own
 * code (no decide(), no parseLink()): it knows which links it signed and judges the path the
 * origin received by decoding and resolving it the way a careless origin would.
 */
import fc from "fast-check";
import { signToken } from "../../src/core/token.js";

/** A link this generator signed with the gate's secret: what a token there can grant. */
export interface Signed {
  kind: string;
  clientId: string;
  videoId: string;
  expires: number;
}

export interface Attack {
  method: string;
  /** The request target exactly as sent (latin1: one char a byte). */
  target: string;
  version: "1.1" | "1.0";
  /** How Host is sent. */
  host: "normal" | "none" | "spoofed" | "duplicated" | "origin";
  /** Headers no client may use to re-route or speak for the request (policy: dropped). */
  hostile: [string, string][];
  /**
   * Range and precondition headers a player sends (forwarded): the origin answers 206, 416,
   * 304 or 412 to them, which the gate must pass on as it got them.
   */
  validators: [string, string][];
  /**
   * A body: framed by length, chunks, both, or a transfer coding other than chunked (which
   * llhttp handed over before refusing it).
   */
  body: "none" | "length" | "chunked" | "both" | "identity" | "xchunked";
  /** Asks to upgrade (`Upgrade: websocket` and its handshake headers): refused under a prefix. */
  upgrade: boolean;
  /** Allowed headers whose values are past ASCII (UTF-8 and not): dropped on every runtime. */
  foreign: boolean;
  /** The link the target started from, and whether its token was the right one. */
  base: Signed;
  token: "right" | "other-secret" | "other-video";
  /** How many mutations changed the target (0 = a link as a signer made it). */
  mutations: number;
  form: "origin" | "absolute" | "absolute-origin";
}

export const PREFIXES = ["videos", "cmaf"];

/** Pieces that have broken path checks somewhere: dots, separators and their escapes. */
const PIECES = [
  ".",
  "..",
  "/",
  "//",
  "\\",
  ";",
  ";x",
  "..;",
  "..;x",
  "%2e",
  "%2E",
  "%2e%2e",
  ".%2e",
  "%2e.",
  "%2f",
  "%2F",
  "%5c",
  "%5C",
  "%00",
  "%0a",
  "%0d",
  "%25",
  "%252e",
  "%252f",
  "%25%32%65",
  "%3b",
  "%3B",
  "%c0%ae",
  "%c0%af",
  "%e0%80%ae",
  "%c1%9c",
  "%ef%bc%8e",
  "%ef%bc%8f",
  "%ef%b8%b0",
  "%e2%80%a4",
  "%e2%84%80",
  "%ef%bc%85",
  "%u002e",
  "%",
  "%z",
  "%2",
  "?",
  "#",
  "&",
  "_",
  "~",
  "*",
  "@",
  ":",
  "\t",
  "\x01",
  "\x7f",
  "\xff",
  "\xc3\xa9",
  "\xef\xbc\x8e",
];

/** Whole segments to insert or put in place of another. */
const SEGMENTS = [
  "..",
  ".",
  "",
  "..;x",
  ".;",
  ";x",
  "%2e%2e",
  ".%2e",
  "%2e",
  "..%2f..",
  "..%5c..",
  "...",
  "....",
  ".x",
  "x.",
  "2675_other",
  "videos",
  "cmaf",
  "etc",
  "passwd",
  "x".repeat(5000),
  "y".repeat(20_000), // past Node's 16 KiB head limit
  "%2e%2e%2f2675_other",
];

/**
 * Header names the header policy drops (any name off its allow-list), with values that would
 * re-route, impersonate or instruct.
 */
const HOSTILE_NAMES = [
  "X-Original-URL",
  "X-Rewrite-URL",
  "X-Override-URL",
  "X-HTTP-Method-Override",
  "X-HTTP-Method",
  "X-Method-Override",
  "X-Host",
  "X-Forwarded-Host",
  "X-Forwarded-For",
  "X-Forwarded-Proto",
  "X-Forwarded-Prefix",
  "X-Forwarded-Server",
  "Forwarded",
  "X-Real-IP",
  "True-Client-IP",
  "CF-Connecting-IP",
  "X-Client-IP",
  "X_Forwarded_For",
  "X.Original.URL",
  "X-Middleware-Subrequest",
  "X-Envoy-Original-Path",
  "Proxy",
  "Cookie",
  "Authorization",
  "Remote-User",
  "X-Auth-Request-User",
  "Via",
  // Reached the origin under the old deny-list (issue 20, item 6).
  "X-Custom-IP-Authorization",
  "X-Accel-Redirect",
  "X-Sendfile",
  "X-Foo",
  "Sec-WebSocket-Key",
  "Cache-Control",
];

const HOSTILE_VALUES = [
  "/videos/2675_other/secret.ts",
  "http://evil.test/videos/2675_other/x.ts",
  "DELETE",
  "evil.test",
  "6.6.6.6",
  "for=6.6.6.6;host=evil.test;proto=https",
  "admin",
  "1",
  // Behind TRUST_PROXY: what realip read as 9.9.9.9 (issue 20, item 9), and one it may.
  "9.9.9.9:1234",
  "009.009.009.009",
  "9.9.9.9,",
  "9.9.9.9",
  "127.0.0.1, 9.9.9.9",
];

/**
 * Ranges and preconditions against a resource of a few bytes whose tag no attack knows: one
 * range inside it (206), one past its end (416), one under an If-Range that fails (200 whole),
 * an If-None-Match or If-Modified-Since that holds (304), an If-Match that fails (412).
 */
const VALIDATORS: [string, string][][] = [
  [["Range", "bytes=1-2"]],
  [["Range", "bytes=-2"]],
  [["Range", "bytes=999-"]],
  [
    ["Range", "bytes=0-0"],
    ["If-Range", '"stale"'],
  ],
  [["If-None-Match", "*"]],
  [["If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT"]],
  [["If-Match", '"nope"']],
];

/** The proxy the self-hosted gates trust (TRUST_PROXY): the test's own address. */
export const TRUSTED_PROXY = "127.0.0.1";

/** A dotted quad as written by no one but an IPv4 address: no leading zeros, no port. */
const STRICT_V4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/**
 * The client a self-hosted gate behind TRUST_PROXY must name to the origin for `attack`: the
 * right-most X-Forwarded-For entry not the trusted proxy; none when that entry is not an
 * address (junk never becomes one, nor falls back to the proxy); the proxy with no header.
 */
function behindProxy(attack: Attack): string | undefined {
  const values = attack.hostile.filter(([name]) => name === "X-Forwarded-For").map(([, v]) => v);
  if (values.length === 0) return TRUSTED_PROXY;
  const hops = values.join(",").split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (!STRICT_V4.test(hop)) return undefined;
    if (hop !== TRUSTED_PROXY) return hop;
  }
  return hops[0]!.trim();
}

function signed(base: Signed, secret: string): string {
  return signToken({ ...base, secret });
}

/**
 * An attack: a link signed for `base` (right token, another secret's, or another video's),
 * then 0–4 mutations of its target, a method, a Host, hostile headers and a body.
 */
export function attackArbitrary(options: { secret: string; now: number }): fc.Arbitrary<Attack> {
  const { secret, now } = options;
  const base = fc.record({
    kind: fc.constantFrom(...PREFIXES, "videos", "videos", "hls", "VIDEOS"),
    clientId: fc.oneof(fc.stringMatching(/^[1-9][0-9]{0,5}$/), fc.constant("2675")),
    videoId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/),
    // Far from now, so every runtime agrees whatever second each reads its clock in, and an
    // unexpired link stays so however long a run on a loaded machine takes.
    expires: fc.oneof(
      fc.integer({ min: now + 3_600, max: now + 86_400 * 365 }),
      fc.integer({ min: 1, max: now - 120 }),
    ),
  });
  const file = fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}(?:\.ts|\.m3u8|\.mp4)?$/), {
    minLength: 1,
    maxLength: 3,
  });
  const query = fc.oneof(
    { weight: 3, arbitrary: fc.constant("") },
    fc.constantFrom("?a=1", "?a=1&b=%2e%2e%2f", "?../../x", "?%23x", "??", "?md5=x&expires=1"),
  );
  const piece = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...PIECES) },
    fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0, max: 255 }).map((c) => "%" + c.toString(16).padStart(2, "0")),
  );
  // Half the mutations land in the file part, behind a token that still verifies: that is
  // where a path must not leave its folder.
  const inFile = fc.boolean();
  const mutation = fc.oneof(
    fc.record({ op: fc.constant("insert" as const), at: fc.nat(), piece, inFile }),
    fc.record({ op: fc.constant("replace" as const), at: fc.nat(), piece, inFile }),
    fc.record({
      op: fc.constant("delete" as const),
      at: fc.nat(),
      piece: fc.constant(""),
      inFile,
    }),
    fc.record({
      op: fc.constant("segment-insert" as const),
      at: fc.nat(),
      piece: fc.constantFrom(...SEGMENTS),
      inFile,
    }),
    fc.record({
      op: fc.constant("segment-replace" as const),
      at: fc.nat(),
      piece: fc.constantFrom(...SEGMENTS),
      inFile,
    }),
    fc.record({
      op: fc.constant("segment-delete" as const),
      at: fc.nat(),
      piece: fc.constant(""),
      inFile,
    }),
    fc.record({
      op: fc.constant("segment-double" as const),
      at: fc.nat(),
      piece: fc.constant(""),
      inFile,
    }),
  );
  return fc
    .record({
      base,
      file,
      query,
      token: fc.constantFrom(
        "right",
        "right",
        "right",
        "other-secret",
        "other-video",
      ) as fc.Arbitrary<Attack["token"]>,
      mutations: fc.oneof(
        { weight: 1, arbitrary: fc.constant([]) },
        { weight: 4, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }) },
      ),
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constant("GET") },
        { weight: 3, arbitrary: fc.constant("HEAD") },
        fc.constantFrom("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get", "PROPFIND"),
      ),
      version: fc.oneof(
        { weight: 9, arbitrary: fc.constant("1.1" as const) },
        fc.constant("1.0" as const),
      ),
      host: fc.oneof(
        { weight: 12, arbitrary: fc.constant("normal") },
        fc.constantFrom("none", "spoofed", "duplicated", "origin"),
      ),
      hostile: fc.array(
        fc.tuple(fc.constantFrom(...HOSTILE_NAMES), fc.constantFrom(...HOSTILE_VALUES)),
        {
          maxLength: 3,
        },
      ),
      validators: fc.oneof(
        { weight: 4, arbitrary: fc.constant<[string, string][]>([]) },
        fc.constantFrom(...VALIDATORS),
      ),
      body: fc.oneof(
        { weight: 16, arbitrary: fc.constant("none") },
        fc.constantFrom("length", "chunked", "both", "identity", "xchunked"),
      ),
      upgrade: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, fc.constant(true)),
      foreign: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, fc.constant(true)),
      form: fc.oneof(
        { weight: 16, arbitrary: fc.constant("origin") },
        fc.constantFrom("absolute", "absolute-origin"),
      ),
    })
    .map((drawn): Attack => {
      const tokenFor: Signed =
        drawn.token === "other-video"
          ? { ...drawn.base, videoId: drawn.base.videoId + "x" }
          : drawn.base;
      const token = signed(tokenFor, drawn.token === "other-secret" ? secret + "-old" : secret);
      const { kind, clientId, videoId, expires } = drawn.base;
      let path = `/${kind}/${clientId}_${videoId}/${token}/${expires}/${drawn.file.join("/")}`;
      const head = `/${kind}/${clientId}_${videoId}/${token}/${expires}`;
      for (const m of drawn.mutations) {
        path =
          m.inFile && path.startsWith(head + "/")
            ? head + mutate(path.slice(head.length), m.op, m.at, m.piece)
            : mutate(path, m.op, m.at, m.piece);
      }
      return {
        method: drawn.method,
        target: path + drawn.query,
        version: drawn.version,
        host: drawn.host as Attack["host"],
        hostile: drawn.hostile,
        validators: drawn.validators,
        body: drawn.body as Attack["body"],
        upgrade: drawn.upgrade,
        foreign: drawn.foreign,
        base: drawn.base,
        token: drawn.token,
        mutations: drawn.mutations.length,
        form: drawn.form as Attack["form"],
      };
    });
}

function mutate(path: string, op: string, at: number, piece: string): string {
  if (op.startsWith("segment-")) {
    const segments = path.split("/");
    const i = 1 + (at % Math.max(1, segments.length - 1));
    if (op === "segment-insert") segments.splice(i, 0, piece);
    else if (op === "segment-replace") segments[i] = piece;
    else if (op === "segment-delete") segments.splice(i, 1);
    else segments.splice(i, 0, segments[i] ?? "");
    const joined = segments.join("/");
    return joined.startsWith("/") ? joined : "/" + joined;
  }
  const i = at % (path.length + 1);
  if (op === "insert") return path.slice(0, i) + piece + path.slice(i);
  if (op === "replace") return path.slice(0, i) + piece + path.slice(i + 1);
  return path.slice(0, i) + path.slice(i + 1) || "/";
}

/** The raw bytes of an attack, with `id` in an `X-Req` header to match origin requests. */
export function attackBytes(attack: Attack, id: number, originHost: string): Buffer {
  const target =
    attack.form === "absolute"
      ? "http://evil.test" + attack.target
      : attack.form === "absolute-origin"
        ? `http://${originHost}${attack.target}`
        : attack.target;
  const lines = [`${attack.method} ${target} HTTP/${attack.version}`];
  if (attack.host === "normal") lines.push("Host: gate.test");
  else if (attack.host === "spoofed") lines.push("Host: evil.test");
  else if (attack.host === "origin") lines.push(`Host: ${originHost}`);
  else if (attack.host === "duplicated") lines.push("Host: gate.test", "Host: evil.test");
  for (const [name, value] of attack.hostile) lines.push(`${name}: ${value}`);
  for (const [name, value] of attack.validators) lines.push(`${name}: ${value}`);
  if (attack.upgrade) {
    lines.push(
      "Upgrade: websocket",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
    );
  }
  if (attack.foreign) lines.push("User-Agent: caf\xc3\xa9", "Referer: http://x.test/\xff");
  lines.push(`X-Req: ${id}`, "Connection: close");
  // A body that is itself a request for another video: it must never reach the origin.
  const smuggled = "GET /videos/2675_other/x.ts HTTP/1.1\r\nHost: gate.test\r\n\r\n";
  let body = "";
  if (attack.body === "length" || attack.body === "both") {
    lines.push(`Content-Length: ${smuggled.length}`);
  }
  if (attack.body === "chunked" || attack.body === "both") {
    lines.push("Transfer-Encoding: chunked");
    body = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
  } else if (attack.body === "identity" || attack.body === "xchunked") {
    lines.push(`Transfer-Encoding: ${attack.body}`);
    body = smuggled;
  } else if (attack.body === "length") {
    body = smuggled;
  }
  return Buffer.from(lines.join("\r\n") + "\r\n\r\n" + body, "latin1");
}

/** What a request the origin received looked like. */
export interface OriginSeen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyBytes: number;
}

/**
 * Why a request the origin received for `attack` should never have reached it; undefined
 * when it is one the gate may send. The origin may only see GET or HEAD, at its own host,
 * without a body or any header the client chose to re-route or speak for it, for a path
 * inside the folder of a link this generator signed with the right secret and that has not
 * expired — inside however an origin decodes it (once, NFKC, `\` as `/`, `;params` dropped,
 * empty segments merged or not).
 */
export function originViolation(
  attack: Attack,
  seen: OriginSeen,
  originHost: string,
  now: number,
  runtime: "node" | "workerd" | "nginx",
): string | undefined {
  if (seen.method !== "GET" && seen.method !== "HEAD") return `method ${seen.method}`;
  if (seen.headers.host !== originHost) return `Host ${String(seen.headers.host)}`;
  if (seen.bodyBytes > 0 || seen.headers["transfer-encoding"] !== undefined) return "a body";
  const length = seen.headers["content-length"];
  if (length !== undefined && length !== "0") return `content-length ${String(length)}`;
  for (const [name] of attack.hostile) {
    if (seen.headers[name.toLowerCase()] !== undefined && !isSetByGate(name)) {
      return `client header ${name}`;
    }
  }
  if (attack.upgrade) return "a request that asks to upgrade";
  if (attack.body === "identity" || attack.body === "xchunked") {
    return `Transfer-Encoding: ${attack.body}`;
  }
  for (const name of ["sec-websocket-key", "sec-websocket-version", "upgrade"]) {
    if (seen.headers[name] !== undefined) return `client header ${name}`;
  }
  if (attack.foreign && (seen.headers["user-agent"] ?? seen.headers.referer) !== undefined) {
    return "a header value past ASCII";
  }
  const forwardedFor = seen.headers["x-forwarded-for"];
  if (runtime !== "workerd" && forwardedFor !== behindProxy(attack)) {
    return `X-Forwarded-For ${String(forwardedFor)}, not ${String(behindProxy(attack))}`;
  }
  if (runtime === "workerd" && forwardedFor !== "127.0.0.1") {
    // Miniflare sets CF-Connecting-IP to the peer, but keeps a client's own: if that is one
    // address, it is what the Worker passes on, else nothing (README: Headers). The edge
    // replaces it.
    const claimed = attack.hostile.filter(([name]) => name === "CF-Connecting-IP");
    const passed =
      claimed.length === 1 && STRICT_V4.test(claimed[0]![1]) ? claimed[0]![1] : undefined;
    if (claimed.length === 0 || forwardedFor !== passed) {
      return `X-Forwarded-For ${String(forwardedFor)}`;
    }
  }
  if (attack.token !== "right") return "a link with a wrong token";
  const { clientId, videoId, expires } = attack.base;
  if (expires < now) return "an expired link";
  // The token signs client, video and expiry, not the kind: any guarded prefix may front
  // the video's folder (README: How a link is checked).
  const folders = PREFIXES.map((prefix) => `/${prefix}/${clientId}_${videoId}/`);
  const path = seen.url.split("?")[0]!;
  for (const view of originViews(path)) {
    const inside = folders.some((folder) => view.startsWith(folder) && view.length > folder.length);
    if (!inside)
      return `path ${JSON.stringify(path)} leaves ${folders[0]} as ${JSON.stringify(view)}`;
  }
  return undefined;
}

/** Headers the gate sets itself (their values are checked separately). */
function isSetByGate(name: string): boolean {
  return /^x-forwarded-(for|proto)$/i.test(name);
}

/** The path as origins of several kinds would read it, each resolved to an absolute path. */
export function originViews(path: string): string[] {
  const once = decodeOnce(path);
  const forms = [path, once, once.normalize("NFKC"), once.replaceAll("\\", "/")];
  const views: string[] = [];
  for (const form of forms) {
    const noParams = form
      .split("/")
      .map((s) => s.split(";")[0])
      .join("/");
    for (const text of [form, noParams]) {
      views.push(resolve(text, false), resolve(text, true));
    }
  }
  return views;
}

function decodeOnce(path: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i++) {
    const hex = path.slice(i + 1, i + 3);
    if (path[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(path.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** RFC 3986 dot-segment removal; with `merge`, empty segments are dropped first (nginx). */
function resolve(path: string, merge: boolean): string {
  const out: string[] = [];
  const segments = path.split("/").slice(1);
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === "..") {
      out.pop();
      if (last) out.push("");
    } else if (segment === ".") {
      if (last) out.push("");
    } else if (segment === "" && merge && !last) {
      // merged away
    } else {
      out.push(segment);
    }
  });
  return "/" + out.join("/");
}
