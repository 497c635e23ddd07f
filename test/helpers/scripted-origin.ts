/**
 * A scripted origin on raw TCP, for origins that misbehave on purpose: each request (up to its
 * blank line) is answered by `answer(requestText, index, indexOnItsConnection)`, written as the pieces it returns,
 * one write per piece with a short pause between, so answers arrive split in awkward places.
 */
import { createServer, type Server, type Socket } from "node:net";

export interface Scripted {
  /**
   * What to write, in pieces; then `close` ends the connection, `resetAfter` resets it (RST);
   * `reset` resets it at once, writing nothing.
   */
  pieces?: (string | Buffer)[];
  close?: boolean;
  reset?: boolean;
  resetAfter?: boolean;
  /** Write nothing at all (the connection stays open until the client leaves). */
  silent?: boolean;
}

export interface ScriptedOrigin {
  url: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections closed so far. */
  readonly closed: number;
  /** Connections open now, and the most ever open at once. */
  readonly open: number;
  readonly maxOpen: number;
  /** Every request head received, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function scriptedOrigin(
  answer: (request: string, index: number, onConnection: number) => Scripted,
  pauseMs = 2,
): Promise<ScriptedOrigin> {
  let connections = 0;
  let maxOpen = 0;
  let closed = 0;
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    maxOpen = Math.max(maxOpen, sockets.size);
    socket.on("close", () => {
      sockets.delete(socket);
      closed++;
    });
    socket.on("error", () => {});
    let buffered = "";
    let onConnection = 0;
    socket.on("data", async (data) => {
      buffered += data.toString("latin1");
      let end: number;
      while ((end = buffered.indexOf("\r\n\r\n")) >= 0) {
        const request = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        const script = answer(request, requests.push(request) - 1, onConnection++);
        if (script.reset) return void socket.resetAndDestroy();
        if (script.silent) return;
        for (const piece of script.pieces ?? []) {
          if (socket.destroyed) return;
          socket.write(piece);
          if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
        }
        if (script.close) socket.end();
        if (script.resetAfter) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          socket.resetAndDestroy();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    get closed() {
      return closed;
    },
    get open() {
      return sockets.size;
    },
    get maxOpen() {
      return maxOpen;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Splits text into pieces of `size` characters. */
export function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
