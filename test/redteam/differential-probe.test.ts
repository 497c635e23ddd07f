/** Red team probe: the same raw bytes to every runtime; prints status and what the origin saw. */
import { expect, it } from "vitest";
import { RUNTIMES } from "../helpers/runtimes.js";
import { startOrigin } from "../helpers/origin.js";
import { rawExchange } from "../helpers/raw-exchange.js";
import { SECRET, signedPath } from "../helpers/links.js";

it("differential probe", async () => {
  const origin = await startOrigin();
  const L = signedPath("seg.ts", { expires: 1900000000 });
  const base = L.slice(0, L.lastIndexOf("/") + 1);
  const cases: [string, string][] = [
    [
      "two Range",
      `GET ${L} HTTP/1.1\r\nHost: g\r\nRange: bytes=0-0\r\nRange: bytes=3-4\r\nConnection: close\r\n\r\n`,
    ],
    ["query quote", `GET ${L}?a='"<>\`{} HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["query hash", `GET ${L}?a=1#x HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["query %00", `GET ${L}?a=%00 HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["query ..", `GET ${L}?/../../etc/passwd HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["file %3F", `GET ${base}seg.ts%3Fx=1 HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["file %23", `GET ${base}seg.ts%23x HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["file %25", `GET ${base}seg%25.ts HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["file %7e", `GET ${base}%7e HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["file ;", `GET ${base}seg.ts;jsessionid=1 HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["file %3b", `GET ${base}a%3b/seg.ts HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["file @", `GET ${base}@evil/seg.ts HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    ["file :", `GET ${base}http:/x HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n`],
    [
      "HEAD + body",
      `HEAD ${L} HTTP/1.1\r\nHost: g\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`,
    ],
    [
      "Range+If-Range",
      `GET ${L} HTTP/1.1\r\nHost: g\r\nRange: bytes=0-0\r\nIf-Range: "x"\r\nConnection: close\r\n\r\n`,
    ],
    [
      "Connection: range",
      `GET ${L} HTTP/1.1\r\nHost: g\r\nRange: bytes=0-0\r\nConnection: close, Range\r\n\r\n`,
    ],
    [
      "Max-Forwards",
      `GET ${L} HTTP/1.1\r\nHost: g\r\nMax-Forwards: 0\r\nAccept: */*\r\nConnection: close\r\n\r\n`,
    ],
    ["Accept tab", `GET ${L} HTTP/1.1\r\nHost: g\r\nAccept: a\tb\r\nConnection: close\r\n\r\n`],
    ["HTTP/1.0 keep", `GET ${L} HTTP/1.0\r\nHost: g\r\n\r\n`],
  ];
  const results: Record<string, string[]> = {};
  for (const [name, start] of Object.entries(RUNTIMES)) {
    const gate = await start({ ORIGIN_URL: origin.url, SECRET });
    const port = Number(new URL(gate.url).port);
    for (const [label, raw] of cases) {
      const before = origin.requests.length;
      const ex = await rawExchange(port, Buffer.from(raw, "latin1"), 5000);
      const seen = origin.requests
        .slice(before)
        .map(
          (r) =>
            `${r.method} ${r.url} range=${r.headers.range ?? ""} accept=${r.headers.accept ?? ""}`,
        );
      (results[label] ??= []).push(
        `${name.split(" ")[1]}: ${ex.status} ${ex.hung ? "HUNG" : ""} | ${seen.join(" ; ")}`,
      );
    }
    await gate.close();
  }
  for (const [label, lines] of Object.entries(results))
    console.log(`${label}\n  ${lines.join("\n  ")}`);
  await origin.close();
  expect(true).toBe(true);
});
