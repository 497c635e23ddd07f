/** The gate on both runtimes for tests that run the same checks against each. */
import { nginxAvailable, startNginx } from "./nginx.js";
import { serve } from "./serve.js";
import { startWorker } from "./worker.js";

/** A running gate: its URL, and how to stop it. */
export interface Gate {
  url: string;
  close(): Promise<unknown>;
}

/** The Node server (the CLI, as users run it) and the built Worker in Miniflare. */
export const RUNTIMES: Record<string, (env: Record<string, string>) => Promise<Gate>> = {
  "the Node server": async (env) => {
    const served = await serve(env);
    return { url: served.url, close: served.stop };
  },
  "the Worker in Miniflare": async (env) => {
    const worker = await startWorker(env);
    return { url: worker.url, close: worker.close };
  },
};
if (nginxAvailable()) {
  RUNTIMES["nginx with the njs module"] = async (env) => {
    const nginx = await startNginx(env);
    return { url: nginx.url, close: nginx.close };
  };
}
