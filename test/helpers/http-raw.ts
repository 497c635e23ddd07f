/** Sends a request with the path exactly as given (no normalisation) over a raw socket. */
import { connect } from "node:net";

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

export function rawRequest(port: number, method: string, path: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let done = false;
    const finish = () => {
      if (done) return;
      const answer = complete(text, method);
      if (answer) {
        done = true;
        socket.destroy();
        resolve(answer);
      }
    };
    socket.setEncoding("latin1");
    socket.on("connect", () => {
      socket.write(
        `${method} ${path} HTTP/1.1\r\nHost: gate.test\r\nConnection: close\r\n\r\n`,
        "latin1",
      );
    });
    socket.on("data", (chunk: string) => {
      text += chunk;
      finish();
    });
    socket.on("error", (error) => done || reject(error));
    socket.on("close", () => {
      if (done) return;
      done = true;
      const split = text.indexOf("\r\n\r\n");
      resolve({ status: statusOf(text), head: text.slice(0, split), body: text.slice(split + 4) });
    });
  });
}

function statusOf(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

/** The answer once `text` holds a whole response (Content-Length or chunked), else undefined. */
function complete(text: string, method: string): RawAnswer | undefined {
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return undefined;
  const head = text.slice(0, split);
  const rest = text.slice(split + 4);
  const status = statusOf(head);
  if (method === "HEAD" || status === 204 || status === 304) return { status, head, body: "" };
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) {
    return rest.length >= Number(length[1])
      ? { status, head, body: rest.slice(0, Number(length[1])) }
      : undefined;
  }
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    if (!rest.endsWith("0\r\n\r\n")) return undefined;
    let body = "";
    let i = 0;
    for (;;) {
      const end = rest.indexOf("\r\n", i);
      const size = parseInt(rest.slice(i, end), 16);
      if (!size) break;
      body += rest.slice(end + 2, end + 2 + size);
      i = end + 2 + size + 2;
    }
    return { status, head, body };
  }
  return undefined;
}
