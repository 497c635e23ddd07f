/**
 * The Worker passes the origin's answer back without hop-by-hop headers, as the Node server
 * does: what the origin's `Connection` names, `Keep-Alive`, `Proxy-Connection` …, keeping the
 * answer's framing (`Content-Length`) as the origin sent it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../../helpers/http.js";
import { SECRET, signedPath } from "../../helpers/links.js";
import { scriptedOrigin, type ScriptedOrigin } from "../../helpers/scripted-origin.js";
import { startWorker, type StartedWorker } from "../../helpers/worker.js";

describe("the Worker's answer headers", () => {
  let origin: ScriptedOrigin;
  let worker: StartedWorker;
  beforeAll(async () => {
    origin = await scriptedOrigin(() => ({
      pieces: [
        "HTTP/1.1 200 OK\r\n" +
          "Connection: keep-alive, X-Internal-Token\r\n" +
          "X-Internal-Token: s3cr3t-origin-value\r\n" +
          "Proxy-Connection: keep-alive\r\n" +
          "Keep-Alive: timeout=5\r\n" +
          "X-Kept: yes\r\n" +
          "X-Control: a\x01b\r\n" +
          "Content-Length: 5\r\n\r\nhello",
      ],
    }));
    worker = await startWorker({ SECRET, ORIGIN_URL: origin.url });
  });
  afterAll(async () => {
    await worker?.close();
    await origin?.close();
  });

  it("drops what the origin's Connection names and every hop-by-hop header, keeps the rest and the length", async () => {
    const res = await get(worker.url + signedPath("x.ts"));
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("hello");
    expect(res.headers["x-internal-token"]).toBeUndefined();
    expect(res.headers["proxy-connection"]).toBeUndefined();
    expect(res.headers["keep-alive"]).toBeUndefined();
    expect(res.headers["x-kept"]).toBe("yes");
    // A control byte in a value: dropped, as the Node server refuses the answer (outside attack).
    expect(res.headers["x-control"]).toBeUndefined();
    expect(res.headers["content-length"]).toBe("5");
    expect(res.headers["transfer-encoding"]).toBeUndefined();
  });
});
