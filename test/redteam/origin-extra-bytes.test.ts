/**
 * Red team: an origin that sends bytes after a complete answer (here a 204 followed, in the same
 * write, by a whole second response) — does the NEXT viewer, asking for another video, get the
 * injected answer? The Node server must not reuse such a connection; workerd is documented to
 * (README "workerd's own HTTP client"); nginx has no ORIGIN_KEEPALIVE switch at all.
 */
import { describe, expect, it } from "vitest";
import { RUNTIMES } from "../helpers/runtimes.js";
import { scriptedOrigin } from "../helpers/scripted-origin.js";
import { SECRET, signedPath } from "../helpers/links.js";

const INJECT = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nINJECTED!";

for (const [name, start] of Object.entries(RUNTIMES)) {
  describe(name, () => {
    for (const mode of ["same-write", "separate-write", "head-body"] as const) {
      it(`a body after a 204 (${mode}) does not reach another viewer`, async () => {
        const origin = await scriptedOrigin((req) => {
          const path = req.split(" ")[1]!;
          if (mode === "head-body" && req.startsWith("HEAD ")) {
            // A body after a HEAD answer (an origin that ignores HEAD's semantics).
            return {
              pieces: [`HTTP/1.1 200 OK\r\ncontent-length: ${INJECT.length}\r\n\r\n`, INJECT],
            };
          }
          if (mode !== "head-body" && path.includes("2675_A/")) {
            const head = "HTTP/1.1 204 No Content\r\n\r\n";
            return { pieces: mode === "same-write" ? [head + INJECT] : [head, INJECT] };
          }
          const body = `content of ${path}`;
          return { pieces: [`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`] };
        }, 20);
        const gate = await start({ ORIGIN_URL: origin.url, SECRET });
        try {
          const a = await fetch(gate.url + signedPath("x.ts", { video: "A" }), {
            method: mode === "head-body" ? "HEAD" : "GET",
          });
          await a.text();
          await new Promise((r) => setTimeout(r, 100));
          const b = await fetch(gate.url + signedPath("y.ts", { video: "B" })).then(
            async (r) => `${r.status} ${await r.text()}`,
            (e) => `error ${e}`,
          );
          console.log(
            name,
            mode,
            "A:",
            a.status,
            "B:",
            b,
            "origin connections:",
            origin.connections,
          );
          expect(b).toBe("200 content of /videos/2675_B/y.ts");
        } finally {
          await gate.close();
          await origin.close();
        }
      });
    }
  });
}
