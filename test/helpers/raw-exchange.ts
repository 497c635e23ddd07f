/**
 * One raw HTTP exchange on a connection of its own: writes bytes exactly as given, reads until
 * the server closes, and splits what came back into status, head and body. Nothing is
 * normalised on the way, so generated attacks reach the gate as written.
 */
import { connect } from "node:net";

export interface Exchange {
  /** The status of the first answer; 0 when the server closed without one. */
  status: number;
  head: string;
  /** Everything after the first head (latin1), across any answers that followed. */
  body: string;
  /** True when the server neither answered nor closed within the time allowed. */
  hung: boolean;
  /** True when the connection was reset rather than closed. */
  reset: boolean;
}

export function rawExchange(port: number, bytes: Buffer, timeoutMs = 10_000): Promise<Exchange> {
  const head = bytes.subarray(0, 5).toString("latin1") === "HEAD ";
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let reset = false;
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      socket.destroy();
    }, timeoutMs);
    // No half-close: a server may read a FIN as the client leaving; `Connection: close` ends it.
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // An answer is whole once framed; a server need not close after it (workerd may not).
      if (isWhole(Buffer.concat(chunks).toString("latin1"), head)) socket.destroy();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A server may reset after answering (unread request bytes); the answer still counts.
      if (error.code === "ECONNRESET" || error.code === "EPIPE") reset = true;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const head = split < 0 ? text : text.slice(0, split);
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0),
        head,
        body: split < 0 ? "" : text.slice(split + 4),
        hung,
        reset,
      });
    });
  });
}

/** Runs `work` over `items` with at most `limit` at once; results in input order. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Whether `text` holds one whole answer, framed by its length, its chunks, or its status. */
function isWhole(text: string, head: boolean): boolean {
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return false;
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) return true;
  const fields = text.slice(0, split);
  const length = /\r\ncontent-length: *(\d+)/i.exec(fields);
  if (/\r\ntransfer-encoding: *chunked/i.test(fields)) return text.endsWith("\r\n0\r\n\r\n");
  if (length) return text.length - split - 4 >= Number(length[1]);
  return false;
}

/** The bytes of a request `method target` with a Host, `headers` and `Connection: close`. */
export function requestBytes(method: string, target: string, headers: string[] = []): Buffer {
  const lines = [
    `${method} ${target} HTTP/1.1`,
    "Host: gate.test",
    ...headers,
    "Connection: close",
  ];
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}
