/**
 * @cloudflare/vitest-pool-workers (0.15.1) prints workerd's line for the WebSocket it closes to
 * its runner after each test file, the one teardown message its own ignore list lacks (it drops
 * "WebSocket was aborted" and "operation canceled"). `npm test` prints only failures and the
 * summary: that exact line is dropped from this process's output, everything else passes.
 */
const TEARDOWN =
  /^exception = workerd\/api\/web-socket\.c\+\+:\d+: disconnected: WebSocket peer disconnected\s*$/;

export function dropPoolTeardownLine(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === "string" || chunk instanceof Uint8Array ? String(chunk) : "";
      if (TEARDOWN.test(text)) return true;
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}
