/**
 * Red team: "an origin's redirect never shows the origin's address" held only for the plain
 * spelling of ORIGIN_URL's host. Spellings every browser, hls.js and dash.js resolve (WHATWG
 * URL) to the same host passed unchanged: a trailing dot, a tab inside (the parser drops it),
 * one slash or none after the scheme, a percent-encoded host, an IPv4 address as one number or
 * in hex and octal parts, userinfo and upper case together. Checked as a viewer's player reads
 * the answer: resolved against the gate's (TLS-fronted) page, it must not name the origin's
 * host, on every runtime; on nginx both the native path and the module's (an escaped file name).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../helpers/http.js";
import { SECRET, signedPath } from "../helpers/links.js";
import { RUNTIMES, type Gate } from "../helpers/runtimes.js";
import { scriptedOrigin, type ScriptedOrigin } from "../helpers/scripted-origin.js";

/** Spellings of the origin's own URL, `{port}` standing for its port, and what the viewer gets. */
const SPELLINGS: [what: string, location: string, seen: string][] = [
  ["a trailing dot", "http://127.0.0.1.:{port}/base/private/a.ts", "/private/a.ts"],
  ["a tab inside", "http://127.0.0.1:{port}\t/base/private/a.ts", "/private/a.ts"],
  ["one slash", "http:/127.0.0.1:{port}/base/private/a.ts", "/private/a.ts"],
  ["no slash", "http:127.0.0.1:{port}/base/private/a.ts", "/private/a.ts"],
  ["a percent-encoded host", "http://%31%32%37.0.0.1:{port}/base/private/a.ts", "/private/a.ts"],
  ["one number", "http://2130706433:{port}/base/private/a.ts?x=1", "/private/a.ts?x=1"],
  ["hex and octal parts", "https://0x7F.00.1/other/a.ts", "/other/a.ts"],
  ["userinfo and upper case", "HTTP://User@127.0.0.1.:80\\base/a.ts", "/a.ts"],
  ["another host", "http://127.0.0.2:{port}/base/a.ts", "http://127.0.0.2:{port}/base/a.ts"],
];

/**
 * Hosts past ASCII that a browser maps to the origin's (IDNA): no rewriter here holds the whole
 * table (njs has no normalize), so the headers naming them are dropped (red team: Chromium
 * followed `127.0.0.¹` to the origin).
 */
const PAST_ASCII: [what: string, location: string][] = [
  ["a superscript digit", "http://127.0.0.\u00b9:{port}/base/a.ts"],
  ["a circled digit", "http://\u246027.0.0.1:{port}/base/a.ts"],
];

describe.each(Object.keys(RUNTIMES))(
  "a Location spelling the origin's host through %s",
  (which) => {
    let origin: ScriptedOrigin;
    let gate: Gate;
    beforeAll(async () => {
      origin = await scriptedOrigin((request) => {
        const file = /^\S+ \S*\/(s|%73|l|%6c|u|%75)([0-9]+)\.ts/.exec(request);
        const rows = file?.[1] === "u" || file?.[1] === "%75" ? PAST_ASCII : SPELLINGS;
        const row = file === null ? undefined : rows[Number(file[2])];
        const location = (row?.[1] ?? "next.ts").replace("{port}", String(origin.port));
        if (file?.[1] === "l" || file?.[1] === "%6c") {
          return {
            pieces: [
              `HTTP/1.1 200 OK\r\nLink: <${location}>; rel=preload\r\nContent-Length: 0\r\n\r\n`,
            ],
          };
        }
        return {
          pieces: [
            `HTTP/1.1 302 Found\r\nLocation: ${location}\r\nRefresh: 0; URL = ${location}\r\n` +
              `Content-Location: ${location}\r\n` +
              `Link: <http://127.0.0.1:${origin.port}/base/l.ts>; rel=preload\r\n` +
              "Content-Length: 0\r\n\r\n",
          ],
        };
      });
      gate = await RUNTIMES[which]!({ ORIGIN_URL: `${origin.url}/base`, SECRET });
    });
    afterAll(async () => {
      await gate?.close();
      await origin?.close();
    });

    it.each(SPELLINGS.map((row, i) => [...row, i] as const))(
      "with %s, never the origin's address",
      async (_, location, seen, i) => {
        // A plain name goes nginx's native path, an escaped one the module's.
        for (const file of [`s${i}.ts`, `%73${i}.ts`]) {
          const answer = await get(gate.url + signedPath(file));
          expect(answer.status, file).toBe(302);
          const got = String(answer.headers.location);
          const want = seen.replace("{port}", String(origin.port));
          expect(got, file).toBe(want);
          const resolved = new URL(got, "https://cdn.example/videos/2675_abc/t/1/a.ts");
          expect(resolved.hostname.replace(/\.$/, ""), location).not.toBe("127.0.0.1");
          // A Refresh's URL and a Content-Location by the same rule, on nginx's native path too.
          expect(answer.headers.refresh, file).toBe(`0; URL = ${want}`);
          expect(answer.headers["content-location"], file).toBe(want);
          // Which path nginx took: its native one drops a Link naming the origin.
          const native = which.startsWith("nginx") && file.startsWith("s");
          expect(answer.headers.link, file).toBe(native ? undefined : "</l.ts>; rel=preload");
        }
      },
    );

    it.each(PAST_ASCII.map((row, i) => [...row, i] as const))(
      "with %s, no Location, Refresh or Content-Location at all",
      async (_, location, i) => {
        for (const file of [`u${i}.ts`, `%75${i}.ts`]) {
          const answer = await get(gate.url + signedPath(file));
          expect(answer.status, file).toBe(302);
          const shown = [answer.headers.location, answer.headers.refresh];
          expect([...shown, answer.headers["content-location"]], location).toEqual([
            undefined,
            undefined,
            undefined,
          ]);
        }
      },
    );

    it.each(SPELLINGS.map((row, i) => [...row, i] as const))(
      "with %s in a Link, never the origin's address",
      async (_, location, seen, i) => {
        for (const file of [`l${i}.ts`, `%6c${i}.ts`]) {
          const answer = await get(gate.url + signedPath(file));
          expect(answer.status, file).toBe(200);
          const want = `<${seen.replace("{port}", String(origin.port))}>; rel=preload`;
          const link = answer.headers.link as string | undefined;
          // nginx's native path may drop a Link it cannot rewrite; it never passes the address.
          const native = which.startsWith("nginx") && file.startsWith("l");
          if (!(native && link === undefined)) expect(link, `${file} ${location}`).toBe(want);
        }
      },
    );
  },
);
