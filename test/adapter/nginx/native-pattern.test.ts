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
import { redactLink } from "../../../src/core/redact.js";
import { plainStreamPattern } from "../../../src/adapter/nginx/conf.js";

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
