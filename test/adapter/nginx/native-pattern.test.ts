/**
 * The native path's pattern, held to the core: whenever the printed config's map takes a raw
 * target for a plain stream link and nginx's secure_link (emulated: base64url decoded as nginx
 * decodes it, spare bits ignored; expired before now) finds its token right, decide() grants
 * it with the same origin target, and the log path is the one the module writes; whenever
 * secure_link would refuse it, decide() does not grant it either (the module then decides).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gateSettings, decide } from "../../../src/core/decide.js";
import { md5Base64url } from "../../../src/core/md5.js";
import { cacheKey } from "../../../src/core/cache-key.js";
import { splitTarget } from "../../../src/core/link.js";
import { redactLink, redactTarget } from "../../../src/core/redact.js";
import { rewritesManifest } from "../../../src/http/manifest-headers.js";
import {
  plainMp4Pattern,
  plainQueryPattern,
  plainStreamPattern,
} from "../../../src/adapter/nginx/conf.js";

const SECRET = "pattern-secret";
const PREFIXES = ["videos", "cmaf", "live.hls"];
const NOW = 1_800_000_000;
const pattern = new RegExp(`^${plainStreamPattern(PREFIXES)}`);

/** nginx's ngx_decode_base64url: the bytes of `text`, spare bits of the last character dropped. */
function nginxDecode(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

const piece = fc.constantFrom(
  "a",
  "Z9",
  "_",
  ".",
  "..",
  "-",
  "~",
  "%2e",
  "%2F",
  "%41",
  ";",
  ";x",
  "\\",
  "/",
  "//",
  "!",
  "$",
  "'",
  "(",
  "*",
  "+",
  ",",
  "=",
  ":",
  "@",
  "#",
  "?",
  " ",
  "é",
  "\u0000",
  "abcdefghijklmnopqrstuvwxyz",
  "seg-1.ts",
  "master.m3u8",
);
const text = fc.array(piece, { minLength: 0, maxLength: 6 }).map((parts) => parts.join(""));

const target = fc.record({
  kind: fc.constantFrom(...PREFIXES, "other", "Videos", ""),
  client: fc.oneof(
    { arbitrary: fc.constantFrom("2675", "c", "a.b", ".x", "x%41"), weight: 4 },
    { arbitrary: text, weight: 1 },
  ),
  video: fc.oneof(
    { arbitrary: fc.constantFrom("3dk4NsRt6vWsffEr", "v_w", "a.", "v".repeat(30)), weight: 4 },
    { arbitrary: text, weight: 1 },
  ),
  secret: fc.constantFrom(SECRET, SECRET, "another"),
  tokenEdit: fc.constantFrom("none", "none", "last", "first", "short", "long", "pad"),
  lastChar: fc.constantFrom(..."ABQRghwx-_"),
  expires: fc.oneof(
    fc.integer({ min: NOW - 100, max: NOW + 100 }).map(String),
    fc.constantFrom("0", "01861919999", "9223372036854775807", "99999999999999999", "12a", ""),
  ),
  file: fc.oneof(
    {
      arbitrary: fc.constantFrom("seg.ts", "a/b.ts", "720/", "a/./b", "a/../b", ".hidden", "a..b"),
      weight: 3,
    },
    { arbitrary: text, weight: 1 },
  ),
  query: fc.oneof(
    { arbitrary: fc.constantFrom("", "?", "?a=1", "?md5=x&expires=1", "??", "?a#b"), weight: 3 },
    { arbitrary: text.map((q) => `?${q}`), weight: 1 },
    { arbitrary: text, weight: 1 },
  ),
});

describe("the native path's pattern", () => {
  it("takes only targets decide() grants alike, with the same origin target and log path", () => {
    let taken = 0;
    let granted = 0;
    const settings = gateSettings({
      secret: [SECRET, "older"],
      prefixes: PREFIXES,
      now: () => NOW,
    });
    fc.assert(
      fc.property(target, (t) => {
        let token = md5Base64url(`${t.client}_${t.video}_${t.secret}_${t.expires}_`);
        if (t.tokenEdit === "last") token = token.slice(0, 21) + t.lastChar;
        if (t.tokenEdit === "first") token = t.lastChar + token.slice(1);
        if (t.tokenEdit === "short") token = token.slice(0, 21);
        if (t.tokenEdit === "long") token = token + "A";
        if (t.tokenEdit === "pad") token = token + "==";
        const raw = `/${t.kind}/${t.client}_${t.video}/${token}/${t.expires}/${t.file}${t.query}`;
        const match = pattern.exec(raw);
        if (match === null) return;
        taken++;
        const g = match.groups!;
        const right = nginxDecode(g.tg_token!).equals(
          nginxDecode(md5Base64url(`${g.tg_client}_${g.tg_video}_${SECRET}_${g.tg_expires}_`)),
        );
        const secureLink = right && Number(g.tg_expires) >= NOW;
        const decision = decide("GET", raw, settings);
        if (!secureLink) {
          // Not nginx's to grant; the module decides. A grant here must be the older secret's.
          if (decision.action === "proxy") expect(t.secret).not.toBe(SECRET);
          return;
        }
        granted++;
        expect(decision.action, raw).toBe("proxy");
        if (decision.action !== "proxy" || decision.form !== "stream") throw new Error(raw);
        expect(`/${g.tg_kind}/${g.tg_client}_${g.tg_video}/${g.tg_file}${g.tg_query ?? ""}`).toBe(
          decision.target,
        );
        expect(`/${g.tg_kind}/${g.tg_client}_${g.tg_video}/…/${g.tg_expires}/${g.tg_file}`).toBe(
          redactLink(decision.link),
        );
        // The cache's key, as conf.ts spells it for CACHE_KEY_QUERY none (the default) and all.
        const path = `/${g.tg_kind}/${g.tg_client}_${g.tg_video}/${g.tg_file}`;
        expect(path).toBe(cacheKey(decision.target, "none"));
        expect(path + (g.tg_query ?? "")).toBe(cacheKey(decision.target, "all"));
      }),
      { numRuns: 50_000 },
    );
    // The generator reaches the native path often enough to mean something.
    expect(taken).toBeGreaterThan(500);
    expect(granted).toBeGreaterThan(100);
  });
});

/**
 * The CDN form's pattern, held to the core the same way: a plain file under a CDN-token prefix
 * with exactly `?md5=…&expires=…`, whose token secure_link finds right for the file's directory
 * under the first secret, decide() grants with the file's path as the origin target (and cache
 * key, and log path) and carries no token into it (no manifest); right but expired, refuses as
 * expired; wrong for the directory, the module decides (a file's token, another secret).
 */
describe.each([
  ["a list", ["images", "pub.lic"]],
  ["*", "*"],
] as const)("the CDN-token pattern (QUERY_TOKEN_PREFIXES %s)", (_, queryPrefixes) => {
  const cdn = new RegExp(`^${plainQueryPattern(queryPrefixes, PREFIXES)}`);
  const settings = gateSettings({
    secret: [SECRET, "older"],
    prefixes: PREFIXES,
    queryPrefixes: queryPrefixes === "*" ? "*" : [...queryPrefixes],
    now: () => NOW,
  });
  const request = fc.record({
    kind: fc.constantFrom(
      "images",
      "images",
      "pub.lic",
      "pubxlic",
      "videos",
      "live.hls",
      "other",
      "",
    ),
    dirs: fc.array(
      fc.oneof(
        { arbitrary: fc.constantFrom("a", "720p", "v-1", "x.y"), weight: 4 },
        { arbitrary: text, weight: 1 },
      ),
      { maxLength: 3 },
    ),
    file: fc.oneof(
      {
        arbitrary: fc.constantFrom("seg.ts", "1.jpg", "index.m3u8", "a.MPD", "", ".x", "x."),
        weight: 4,
      },
      { arbitrary: text, weight: 1 },
    ),
    // `parent`: the token of the directory above (right, to a pattern that took a directory's
    // own URL for a file in its parent).
    form: fc.constantFrom("directory", "directory", "file", "parent"),
    secret: fc.constantFrom(SECRET, SECRET, "older", "another"),
    tokenEdit: fc.constantFrom("none", "none", "none", "last", "first", "short"),
    lastChar: fc.constantFrom(..."ABQRghwx-_"),
    expires: fc.oneof(
      { arbitrary: fc.integer({ min: NOW - 100, max: NOW + 100 }).map(String), weight: 4 },
      { arbitrary: fc.constantFrom("0", "01861919999", "99999999999999999", "12a", ""), weight: 1 },
    ),
    query: fc.oneof(
      { arbitrary: fc.constant("md5=T&expires=E"), weight: 6 },
      {
        arbitrary: fc.constantFrom(
          "expires=E&md5=T",
          "md5=T&expires=E&a=1",
          "md5=T&expires=E&",
          "md5=T&expires=E#x",
          "md5=T&md5=T&expires=E",
          "MD5=T&expires=E",
        ),
        weight: 2,
      },
    ),
  });
  it("takes only files decide() grants alike, with the same target, key and log path", () => {
    let taken = 0;
    let granted = 0;
    let expired = 0;
    fc.assert(
      fc.property(request, (t) => {
        const dir = `/${[t.kind, ...t.dirs].join("/")}/`.replace(/^\/\//, "/");
        const path = dir + t.file;
        const parent = dir.slice(0, dir.lastIndexOf("/", dir.length - 2) + 1);
        const signed = t.form === "file" ? path : t.form === "parent" ? parent : dir;
        let token = md5Base64url(`${t.expires}${signed} ${t.secret}`);
        if (t.tokenEdit === "last") token = token.slice(0, 21) + t.lastChar;
        if (t.tokenEdit === "first") token = t.lastChar + token.slice(1);
        if (t.tokenEdit === "short") token = token.slice(0, 21);
        const raw = `${path}?${t.query.replace(/T/g, token).replace(/E/g, t.expires)}`;
        const match = cdn.exec(raw);
        if (match === null) return;
        taken++;
        const g = match.groups!;
        const right = nginxDecode(g.tq_md5!).equals(
          nginxDecode(md5Base64url(`${g.tq_expires}${g.tq_dir} ${SECRET}`)),
        );
        const decision = decide("GET", raw, settings);
        if (!right) {
          // The module's: a grant here must be a file's token or another secret's.
          if (decision.action === "proxy")
            expect(t.form === "file" || t.secret !== SECRET).toBe(true);
          return;
        }
        if (Number(g.tq_expires) < NOW) {
          expired++;
          expect(decision, raw).toMatchObject({ action: "reject", status: 410, reason: "expired" });
          return;
        }
        granted++;
        if (decision.action !== "proxy" || decision.form !== "query") throw new Error(raw);
        const shown = `${g.tq_dir}${g.tq_file}`;
        expect(shown, raw).toBe(decision.target);
        expect(shown).toBe(cacheKey(decision.target, "none"));
        expect(shown).toBe(cacheKey(decision.target, "all"));
        expect(shown).toBe(redactTarget(raw));
        expect(rewritesManifest(decision.propagate, splitTarget(raw).path)).toBe(false);
      }),
      { numRuns: 60_000 },
    );
    expect(taken).toBeGreaterThan(200);
    expect(granted).toBeGreaterThan(50);
    expect(expired).toBeGreaterThan(10);
  });
});

/**
 * The MP4 advanced link's pattern, held to the core the same way: whenever it takes a target
 * and secure_link finds the token right under the first secret, decide() grants it as an MP4
 * link with the path as the origin target, cache key and log path, paced as nginx reads the
 * sizes; right but expired, refuses it as expired; wrong, does not grant it under that secret.
 */
describe("the MP4 pattern", () => {
  const mp4 = new RegExp(`^${plainMp4Pattern(PREFIXES)}`);
  const settings = gateSettings({
    secret: [SECRET, "older"],
    prefixes: PREFIXES,
    mp4Tokens: true,
    now: () => NOW,
  });
  const rate = fc.oneof(
    { arbitrary: fc.constantFrom("1000k", "2m", "512", "0", "0010K", "999999999999M"), weight: 4 },
    { arbitrary: fc.constantFrom("", "1.5k", "1g", "-1", "k", "1000000000000k"), weight: 1 },
  );
  const request = fc.record({
    kind: fc.constantFrom(...PREFIXES, "other"),
    cv: fc.oneof(
      { arbitrary: fc.constantFrom("2675_abc", "c_v_w", "a.b_x"), weight: 4 },
      { arbitrary: fc.constantFrom("_abc", "abc", "2675_", "x%41_y"), weight: 1 },
      { arbitrary: text, weight: 1 },
    ),
    file: fc.oneof(
      { arbitrary: fc.constantFrom("movie.mp4", "a/b.MP4", "720/x.mp4", ".mp4"), weight: 4 },
      {
        arbitrary: fc.constantFrom("movie.mp4/", "movie.m4v", "a/../b.mp4", "movie.mp4.ts"),
        weight: 1,
      },
      { arbitrary: text.map((t) => `${t}.mp4`), weight: 1 },
    ),
    secret: fc.constantFrom(SECRET, SECRET, "older", "another"),
    tokenEdit: fc.constantFrom("none", "none", "none", "last", "first"),
    lastChar: fc.constantFrom(..."ABQRghwx-_"),
    expires: fc.oneof(
      { arbitrary: fc.integer({ min: NOW - 100, max: NOW + 100 }).map(String), weight: 4 },
      { arbitrary: fc.constantFrom("0", "01861919999", "12a"), weight: 1 },
    ),
    speed: fc.option(rate),
    buffer: fc.option(rate),
    query: fc.constantFrom("plain", "plain", "plain", "reordered", "extra", "twice"),
  });
  it("takes only links decide() grants alike, with the same target, pace and log path", () => {
    let taken = 0;
    let granted = 0;
    let paced = 0;
    fc.assert(
      fc.property(request, (t) => {
        const path = `/${t.kind}/${t.cv}/${t.file}`;
        let token = md5Base64url(
          `${path}_${t.secret}_${t.expires}_${t.speed ?? ""}_${t.buffer ?? ""}_`,
        );
        if (t.tokenEdit === "last") token = token.slice(0, 21) + t.lastChar;
        if (t.tokenEdit === "first") token = t.lastChar + token.slice(1);
        const rates = `${t.speed === null ? "" : `&speed=${t.speed}`}${t.buffer === null ? "" : `&buffer=${t.buffer}`}`;
        const query =
          t.query === "reordered"
            ? `expires=${t.expires}&md5=${token}${rates}`
            : t.query === "extra"
              ? `md5=${token}&expires=${t.expires}${rates}&a=1`
              : t.query === "twice"
                ? `md5=${token}&expires=${t.expires}${rates}${rates}`
                : `md5=${token}&expires=${t.expires}${rates}`;
        const raw = `${path}?${query}`;
        const match = mp4.exec(raw);
        if (match === null) return;
        taken++;
        const g = match.groups!;
        const right = nginxDecode(g.tm_md5!).equals(
          nginxDecode(
            md5Base64url(
              `${g.tm_path}_${SECRET}_${g.tm_expires}_${g.tm_speed ?? ""}_${g.tm_buffer ?? ""}_`,
            ),
          ),
        );
        const decision = decide("GET", raw, settings);
        if (!right) {
          if (decision.action === "proxy") expect(t.secret).not.toBe(SECRET);
          return;
        }
        if (Number(g.tm_expires) < NOW) {
          expect(decision, raw).toMatchObject({ action: "reject", status: 410, reason: "expired" });
          return;
        }
        granted++;
        if (decision.action !== "proxy" || decision.form !== "mp4") throw new Error(raw);
        expect(g.tm_path, raw).toBe(decision.target);
        expect(g.tm_path).toBe(cacheKey(decision.target, "all"));
        expect(g.tm_path).toBe(redactTarget(raw));
        // limit_rate and limit_rate_after read the size as nginx's ngx_parse_size does.
        expect([nginxSize(g.tm_speed), nginxSize(g.tm_buffer)]).toEqual([
          decision.rate.speed ?? 0,
          decision.rate.buffer ?? 0,
        ]);
        if (decision.rate.speed !== undefined) paced++;
      }),
      { numRuns: 40_000 },
    );
    expect(taken).toBeGreaterThan(200);
    expect(granted).toBeGreaterThan(50);
    expect(paced).toBeGreaterThan(20);
  });
});

/** A size as nginx's ngx_parse_size reads it (k and m as 1024 and 1024²); 0 when absent. */
function nginxSize(text: string | undefined): number {
  if (text === undefined) return 0;
  const unit = /[kKmM]$/.test(text) ? text.slice(-1).toLowerCase() : "";
  const digits = unit === "" ? text : text.slice(0, -1);
  return Number(digits) * (unit === "k" ? 1024 : unit === "m" ? 1024 * 1024 : 1);
}
