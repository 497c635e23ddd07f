/** A plain node:http client for tests: no fetch, so no undici between the test and the gate. */
import { createHash } from "node:crypto";
import { request } from "node:http";

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function get(
  url: string,
  options: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    // Gives up (and closes the connection) when the whole answer takes longer.
    if (options.timeoutMs !== undefined) {
      const timer = setTimeout(() => req.destroy(new Error("timed out")), options.timeoutMs);
      req.on("close", () => clearTimeout(timer));
    }
    req.end();
  });
}

/** Streams a body without keeping it: its length, MD5, and how much the origin had sent when the first byte came. */
export function download(
  url: string,
  firstByte: () => void = () => {},
): Promise<{ status: number; bytes: number; md5: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      const hash = createHash("md5");
      let bytes = 0;
      res.on("data", (chunk: Buffer) => {
        if (bytes === 0) firstByte();
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, md5: hash.digest("hex") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
