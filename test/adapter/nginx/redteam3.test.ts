/**
 * Red team 3 against nginx's native path: one regex read the request's shape (method, protocol,
 * `Connection`, `Upgrade`, the client's address) and the forwarded headers' values from one
 * joined string, ending in "any ASCII": a `|` in `Connection` or `Upgrade` then ended the shape
 * early, and whatever followed (a real `Upgrade`, a header `Connection` names, no client
 * address at all) passed as "headers". Each test sends raw bytes to the config as printed and
 * to `--native off` (the module, the reference) and failed for its stated reason.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET, signedPath } from "../../helpers/links.js";
import { loggedFor, nginxAvailable, startNginx, type StartedNginx } from "../../helpers/nginx.js";
import { startOrigin, type Origin } from "../../helpers/origin.js";
import { rawExchange } from "../../helpers/raw-exchange.js";

const here = nginxAvailable();

/** One GET of `path` with these header lines, on a connection of its own: the status. */
async function statusOf(gate: StartedNginx, path: string, lines: string[]): Promise<number> {
  const head = [`GET ${path} HTTP/1.1`, "Host: gate.test", ...lines, "Connection: close"];
  // A request that names its own Connection keeps it: the test's own goes last only when absent.
  const own = lines.some((line) => /^connection:/i.test(line)) ? head.slice(0, -1) : head;
  return (await rawExchange(gate.port, Buffer.from(own.join("\r\n") + "\r\n\r\n", "latin1")))
    .status;
}

describe.skipIf(!here)("a `|` in Connection or Upgrade (native path)", () => {
  let origin: Origin;
  let native: StartedNginx;
  let module: StartedNginx;
  beforeAll(async () => {
    origin = await startOrigin();
    const env = { ORIGIN_URL: origin.url, SECRET };
    [native, module] = await Promise.all([startNginx(env), startNginx(env, ["--native", "off"])]);
  });
  afterAll(() => Promise.all([native?.close(), module?.close(), origin?.close()]));

  // The origin could answer 101 and tunnel to the client past the gate.
  it.each([
    [
      "Connection: close||1| with Upgrade: websocket",
      ["Connection: close||1|", "Upgrade: websocket"],
    ],
    ["Upgrade: |1|websocket alone", ["Upgrade: |1|websocket"]],
  ])("refuses %s, as the module does", async (_, lines) => {
    const path = signedPath(`pipe-upgrade-${lines.length}.ts`);
    const before = origin.requests.length;
    expect([await statusOf(module, path, lines), await statusOf(native, path, lines)]).toEqual([
      403, 403,
    ]);
    expect(origin.requests.length).toBe(before);
  });

  it("passes no header the request's Connection names", async () => {
    const lines = ["Connection: close||1|, range", "Range: bytes=0-3"];
    const seen: unknown[] = [];
    for (const [gate, file] of [
      [module, "pipe-named-m.ts"],
      [native, "pipe-named-n.ts"],
    ] as const) {
      const before = origin.requests.length;
      expect(await statusOf(gate, signedPath(file), lines)).toBe(200);
      seen.push(origin.requests[before]?.headers.range);
      const [line] = await loggedFor(gate, [file]);
      expect([file, line!.njs]).toEqual([file, "1"]);
    }
    expect(seen).toEqual([undefined, undefined]);
  });
});

// The worst of it: with BIND_IP=on behind a trusted proxy, a chain nginx cannot read gives no
// client address, and the signed string nginx checks became the unbound one.
describe.skipIf(!here)("a `|` in Connection, BIND_IP=on behind TRUST_PROXY (native path)", () => {
  let origin: Origin;
  let native: StartedNginx;
  beforeAll(async () => {
    origin = await startOrigin();
    native = await startNginx({
      ORIGIN_URL: origin.url,
      SECRET,
      BIND_IP: "on",
      TRUST_PROXY: "127.0.0.1",
    });
  });
  afterAll(() => Promise.all([native?.close(), origin?.close()]));

  it("does not grant a token bound to no address to a client behind two proxies", async () => {
    const unbound = signedPath("pipe-unbound.ts");
    const chain = "X-Forwarded-For: 9.9.9.9, 8.8.8.8";
    const before = origin.requests.length;
    expect(await statusOf(native, unbound, [chain])).toBe(403);
    expect(await statusOf(native, unbound, [chain, "Connection: ||1|"])).toBe(403);
    expect(origin.requests.length).toBe(before);
  });
});
