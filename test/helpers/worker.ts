/** The built Worker (dist/worker.bundle.js) in Miniflare's workerd, listening on 127.0.0.1. */
import { Miniflare, type MiniflareOptions } from "miniflare";

export interface StartedWorker {
  mf: Miniflare;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the Worker with `bindings` (settings as `[vars]` and secrets would give them). */
export async function startWorker(
  bindings: Record<string, string>,
  options: Partial<MiniflareOptions> = {},
): Promise<StartedWorker> {
  const mf = new Miniflare({
    scriptPath: "dist/worker.bundle.js",
    modules: true,
    compatibilityDate: "2026-04-26",
    bindings,
    host: "127.0.0.1",
    port: 0,
    ...options,
  } as MiniflareOptions);
  const ready = await mf.ready;
  return { mf, url: ready.origin, port: Number(ready.port), close: () => mf.dispose() };
}
