/** The gate on both runtimes for the player tests: the Node server (the CLI) and the Worker. */
import { serve } from "../helpers/serve.js";
import { startWorker } from "../helpers/worker.js";

export interface Gate {
  url: string;
  close(): Promise<unknown>;
}

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
