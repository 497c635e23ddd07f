/** Red team probe: does any nginx error-log line hold a CDN token (md5) after odd manifest answers? */
import { describe, expect, it } from "vitest";
import { signQueryToken } from "../../src/core/query-token.js";
import { startNginx } from "../helpers/nginx.js";
import { scriptedOrigin } from "../helpers/scripted-origin.js";

const SECRET = "rt-secret";
describe("nginx error log", () => {
  it("holds no usable token", async () => {
    const origin = await scriptedOrigin((req) => {
      const path = req.split(" ")[1]!;
      if (path.includes("empty"))
        return {
          pieces: [
            "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.apple.mpegurl\r\ncontent-length: 0\r\n\r\n",
          ],
        };
      if (path.includes("short"))
        return {
          pieces: ["HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n#EXTM3U\nseg.ts\n"],
          close: true,
        };
      if (path.includes("chunky"))
        return { pieces: ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", "0\r\n\r\n"] };
      if (path.includes("bad"))
        return {
          pieces: ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", "zz\r\n"],
          close: true,
        };
      if (path.includes("huge")) {
        const body = "#EXTM3U\n" + "seg.ts\n".repeat(200000);
        return { pieces: [`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`, body] };
      }
      const body = "#EXTM3U\nseg.ts\n";
      return { pieces: [`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`, body] };
    });
    const nginx = await startNginx({
      ORIGIN_URL: origin.url,
      SECRET,
      PREFIXES: "videos",
      QUERY_TOKEN_PREFIXES: "hls",
    });
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const md5 = signQueryToken({ path: "/hls/v1/", secret: SECRET, expires });
    try {
      for (const f of (process.env.RT_FILES ?? "ok,empty,short,chunky,bad,huge,ok").split(",")) {
        for (const method of ["GET", "HEAD"]) {
          const res = await fetch(`${nginx.url}/hls/v1/${f}.m3u8?md5=${md5}&expires=${expires}`, {
            method,
          }).catch((e) => e);
          const text =
            res instanceof Response ? await res.text().catch((e) => `ERR ${e}`) : `ERR ${res}`;
          console.log(
            f,
            method,
            res instanceof Response ? res.status : "",
            text.slice(0, 80).replace(/\n/g, "|"),
          );
        }
      }
      await new Promise((r) => setTimeout(r, 500));
      const log = nginx.errorLog();
      console.log(log);
      expect(log.includes(md5)).toBe(false);
      expect(nginx.accessLog().join("\n").includes(md5)).toBe(false);
    } finally {
      await nginx.close();
      await origin.close();
    }
  });
});
