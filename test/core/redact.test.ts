import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseLink } from "../../src/core/link.js";
import { redactLink, redactTarget } from "../../src/core/redact.js";
import { runs } from "../helpers/runs.js";

// What every runtime's access log writes of a request target (the Node log calls it, the nginx
// module runs its compiled form); pure, so mutation testing holds it here.
const TOKEN = "bzvFjnpBFskO6M4eg9hriw";
const RUN = /[A-Za-z0-9_-]{22,}/;
const RUNS = new RegExp(RUN.source, "g");

/**
 * A log line's path as someone rebuilding a token from it reads it: escapes of token characters
 * decoded, every `%` (bare or escaped) dropped, other escapes kept as one non-token character.
 */
function asReaderSees(logged: string): string {
  return logged
    .replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
      const char = String.fromCharCode(parseInt(hex, 16));
      return /[A-Za-z0-9_%-]/.test(char) ? char : " ";
    })
    .replaceAll("%", "");
}

describe("redactTarget", () => {
  it.each([
    [
      `/videos/2675_abc/${TOKEN}/1861919999/720/seg-1.ts?part=4`,
      "/videos/2675_abc/…/1861919999/720/seg-1.ts",
    ],
    // Forms a client may send that are still served or still carry a usable token:
    [
      `http://gate.test/videos/2675_abc/${TOKEN}/1861919999/a.ts`,
      "/videos/2675_abc/…/1861919999/a.ts",
    ],
    [
      `https://gate.test:8443/videos/2675_abc/${TOKEN}/1861919999/a.ts?x=1#f`,
      "/videos/2675_abc/…/1861919999/a.ts",
    ],
    [`//videos/2675_abc/${TOKEN}/1861919999/a.ts`, "//videos/2675_abc/…/1861919999/a.ts"],
    [
      `/videos%2f2675_abc%2f${TOKEN}%2f1861919999%2fa.ts`,
      "/videos%2f2675_abc%2f…%2f1861919999%2fa.ts",
    ],
    [`/videos%252f2675_abc%252f${TOKEN}%252f1/a.ts`, "/…/a.ts"],
    [`/videos/2675_abc/${TOKEN}/1861919999/../${TOKEN}`, "/videos/2675_abc/…/1861919999/../…"],
    [`/videos\\2675_abc\\${TOKEN}\\1/a.ts`, "/videos\\2675_abc\\…\\1/a.ts"],
    [
      `/videos/2675_abc/${TOKEN}/1861919999/dir/${TOKEN}.ts`,
      "/videos/2675_abc/…/1861919999/dir/….ts",
    ],
    [`/x/${TOKEN}xyz/1`, "/x/…/1"],
    // One character of the token percent-escaped: still a token to anyone who decodes it.
    [`/videos/2675_abc/bzvFjnpBFskO6M4eg9hri%77/1/x.ts`, "/videos/2675_abc/…/1/x.ts"],
    [`/videos/2675_abc/%62zvFjnpBFskO6M4eg9hriw/1/x.ts`, "/videos/2675_abc/…/1/x.ts"],
    [`/videos/2675_abc/bzvFjnpBFskO%36M4eg9hriw/1/x.ts?q`, "/videos/2675_abc/…/1/x.ts"],
    ["/videos/2675_abc/a%20b/1/x.ts", "/videos/2675_abc/a%20b/1/x.ts"],
    [`/videos/${TOKEN}_abc/${TOKEN}/1/x.ts`, "/videos/…/…/1/x.ts"],
    [`/videos/2675_abc/bzvFjnpBFsk%25O6M4eg9hriw/1/x.ts`, "/videos/2675_abc/…/1/x.ts"],
    ["/videos/2675_abc/short/x?y=/a/b/c", "/videos/2675_abc/short/x"],
    // Another token written as the id segment (outside attack), also across its "_".
    [`/videos/1_${TOKEN}/AAAAAAAAAAAAAAAAAAAAAA/1/x`, "/videos/…/…/1/x"],
    [`/videos/bzvFjnpBFsk_O6M4eg9hriw/AAAAAAAAAAAAAAAAAAAAAA/1/x`, "/videos/…/…/1/x"],
    ["/healthz", "/healthz"],
    ["/", "/"],
  ])("logs %j as %j", (target, path) => {
    expect(redactTarget(target)).toBe(path);
    expect(decodeURIComponent(redactTarget(target)).replaceAll("%", "")).not.toContain(TOKEN);
  });
});

it("logs a percent sign outside any run as written: bare, escaped or broken", () => {
  expect(redactTarget("/x/ %25/%zz/50%/%")).toBe("/x/ %25/%zz/50%/%");
});

describe("redactTarget, generated", () => {
  // Units a path is built from: token characters, separators, escapes of token characters in
  // both cases, escaped and bare "%", a broken escape, and characters past ASCII.
  const unit = fc.oneof(
    { weight: 40, arbitrary: fc.constantFrom("A", "z", "0", "9", "_", "-") },
    { weight: 2, arbitrary: fc.constantFrom("/", ".", "~", " ", "é", "…", "?", "#") },
    { weight: 2, arbitrary: fc.constantFrom("%41", "%7a", "%5F", "%5f", "%2d", "%30") },
    { weight: 1, arbitrary: fc.constantFrom("%25", "%", "%2", "%zz", "%2F", "%20", "%E2%80%A6") },
  );
  const text = fc.array(unit, { maxLength: 80, size: "max" }).map((units) => units.join(""));

  it("leaves no run of 22 token characters, however a reader rebuilds them", () => {
    let redacted = 0;
    let kept = 0;
    const numRuns = runs(5000);
    fc.assert(
      fc.property(text, (tail) => {
        const logged = redactTarget(`/x/${tail}`);
        expect(asReaderSees(logged)).not.toMatch(RUN);
        // Counted on what a reader of the request itself sees, before the query.
        if (RUN.test(asReaderSees(`/x/${tail}`.split(/[?#]/)[0]!))) redacted++;
        else kept++;
      }),
      { numRuns },
    );
    // Both kinds of path occurred often enough to mean something.
    expect(redacted).toBeGreaterThan(numRuns / 20);
    expect(kept).toBeGreaterThan(numRuns / 20);
  });

  it("redacts a path without escapes as one pattern replace does, in either code path", () => {
    const plain = fc
      .array(fc.constantFrom("A", "z", "0", "_", "-", "/", ".", " "), {
        maxLength: 80,
        size: "max",
      })
      .map((chars) => `/x/${chars.join("")}`);
    fc.assert(
      fc.property(plain, (path) => {
        const expected = path.replace(RUNS, "…");
        expect(redactTarget(path)).toBe(expected);
        // A trailing escape of a space sends the same path through the escape-aware loop.
        expect(redactTarget(`${path}%20`)).toBe(`${expected}%20`);
      }),
      { numRuns: runs(3000) },
    );
  });

  it("redacts an escaped spelling exactly where it redacts the plain one", () => {
    const chars = fc.array(fc.constantFrom("A", "z", "0", "_", "-", "/", "."), {
      maxLength: 80,
      size: "max",
    });
    const spelled = chars.chain((plain) =>
      fc
        .array(fc.constantFrom("plain", "lower", "upper", "percent-after"), {
          minLength: plain.length,
          maxLength: plain.length,
        })
        .map((ways) => ({ plain: `/x/${plain.join("")}`, ways })),
    );
    fc.assert(
      fc.property(spelled, ({ plain, ways }) => {
        let escaped = "/x/";
        [...plain.slice(3)].forEach((char, i) => {
          const hex = char.charCodeAt(0).toString(16);
          const token = /[A-Za-z0-9_-]/.test(char);
          if (!token || ways[i] === "plain") escaped += char;
          else if (ways[i] === "lower") escaped += `%${hex.toLowerCase()}`;
          else if (ways[i] === "upper") escaped += `%${hex.toUpperCase()}`;
          // An escaped "%" after a token character is inside its run: a reader drops it.
          else escaped += `${char}%25`;
        });
        expect(asReaderSees(redactTarget(escaped))).toBe(redactTarget(plain));
      }),
      { numRuns: runs(3000) },
    );
  });
});

describe("redactLink", () => {
  const link = (path: string) => {
    const parsed = parseLink(path);
    if (!parsed.ok) throw new Error(`not a link: ${path}`);
    return parsed.link;
  };

  it.each([
    [
      `/videos/2675_abc/${TOKEN}/1861919999/720/seg-1.ts`,
      "/videos/2675_abc/…/1861919999/720/seg-1.ts",
    ],
    [`/cmaf/1_a/${TOKEN}/7/a.mp4`, "/cmaf/1_a/…/7/a.mp4"],
    [`/mpegts/1_a/${TOKEN}/7/${TOKEN}.ts`, "/mpegts/1_a/…/7/….ts"],
    // The token as the file's stem between other token characters is in a longer run.
    [`/videos/1_a/${TOKEN}/7/x${TOKEN}y.ts`, "/videos/1_a/…/7/….ts"],
    // A file part of 21 token characters is no token.
    [`/videos/1_a/${TOKEN}/7/${"A".repeat(21)}`, `/videos/1_a/…/7/${"A".repeat(21)}`],
    [`/videos/1_a/${TOKEN}/7/${"A".repeat(22)}`, "/videos/1_a/…/7/…"],
  ])("logs the link %s as %s", (path, logged) => {
    expect(redactLink(link(path))).toBe(logged);
    expect(redactTarget(path)).toBe(logged);
  });

  it("leaves no copy of the link's own token anywhere, even one that is no run of its own", () => {
    // "~" splits runs, so only the token's own replace removes it from the file part.
    const path = `/videos/1_a/${TOKEN}/7/a~${TOKEN}~b`;
    expect(redactLink(link(path))).toBe("/videos/1_a/…/7/a~…~b");
    expect(redactTarget(path)).toBe("/videos/1_a/…/7/a~…~b");
  });
});
