/**
 * `WORKERS` > 1: worker processes sharing the port through `node:cluster`. The primary forks
 * them, restarts any that dies and stops them all on a signal. The secret reaches a worker
 * over the IPC channel, never through its environment, which other local users may read in
 * `/proc/PID/environ`.
 * @module
 */
import cluster from "node:cluster";
import { gateServerOptions, type ServerConfig, type ServerEnv } from "./config.js";
import { AggregatorRegistry } from "prom-client";
import { startMetricsServer, type MetricsServer } from "./metrics.js";
import { startGateServer } from "./server.js";

/**
 * Worker to primary: ready for the secret (a message sent before the worker listens would be
 * lost), then listening, or why it could not. Primary to worker: the secret.
 */
type PrimaryMessage = { secret: string; clientSecrets?: string };
type WorkerMessage = { ready: true } | { listening: string } | { error: string };

/** What the primary reports while it runs. */
export interface PrimaryHooks {
  /** The first worker listens at `url`. */
  onListening(url: string): void;
  /** An info line for the log. */
  info(message: string): void;
  /** The metrics listener (owned by the primary) listens at `url`. */
  onMetrics(url: string): void;
  /** Resolves when the primary should stop (a signal). */
  untilStop: Promise<void>;
}

/**
 * Runs the cluster primary until `hooks.untilStop` resolves or a worker cannot start.
 *
 * @param exec - The script a worker runs (the CLI, which calls {@link serveWorker}).
 * @param args - Its arguments.
 * @param env - The settings, the secret among them; the secret is sent over IPC.
 * @returns 0 after a stop, 2 when a worker could not start.
 * @throws the metrics listener's `listen` error, before any worker is started.
 */
export async function servePrimary(
  exec: string,
  args: string[],
  config: ServerConfig,
  env: ServerEnv,
  hooks: PrimaryHooks,
): Promise<number> {
  const { SECRET: secret = "", CLIENT_SECRETS: clientSecrets, ...rest } = env;
  cluster.setupPrimary({ exec, args });
  // `undefined` leaves the secrets out of the worker's environment even where this process has
  // them (and CLIENT_SECRETS may be larger than one environment string can be).
  const workerEnv = {
    ...rest,
    SECRET: undefined,
    CLIENT_SECRETS: undefined,
    CLIENT_SECRETS_FILE: undefined,
    TOKENGATE_WORKER: "1",
  };
  let stopping = false;
  let announced = false;
  const fork = () => cluster.fork(workerEnv);
  // prom-client's aggregator asks every worker for its registry over the same channel; the
  // primary serves the sum on its own listener, so a scrape sees every worker at once.
  const aggregator = new AggregatorRegistry();
  let metrics: MetricsServer | undefined;
  if (config.metrics && config.metricsListen !== undefined) {
    metrics = await startMetricsServer(() => aggregator.clusterMetrics(), config.metricsListen);
    hooks.onMetrics(metrics.url);
  }
  const failed = new Promise<number>((resolve) => {
    cluster.on("message", (worker, message: WorkerMessage) => {
      if (typeof message !== "object" || message === null) return;
      // prom-client's own messages (its aggregator's answers) are not ours.
      if (typeof (message as { type?: unknown }).type === "string") return;
      if ("ready" in message) {
        worker.send({ secret, clientSecrets } satisfies PrimaryMessage);
      } else if ("error" in message) {
        stopping = true;
        process.stderr.write(`tokengate: ${message.error}\n`);
        for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
        resolve(2);
      } else if ("listening" in message && !announced) {
        announced = true;
        hooks.onListening(message.listening);
      }
    });
  });
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    hooks.info(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    fork();
  });
  for (let i = 0; i < config.workers; i++) fork();
  const result = await Promise.race([hooks.untilStop.then(() => 0), failed]);
  stopping = true;
  hooks.info("shutting down workers: finishing in-flight responses");
  await Promise.all(
    Object.values(cluster.workers ?? {}).map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (!worker || worker.isDead()) return resolve();
          worker.once("exit", () => resolve());
          worker.process.kill("SIGTERM");
        }),
    ),
  );
  await metrics?.close();
  return result;
}

/**
 * A cluster worker: waits for the secret from the primary, then serves from the environment
 * the primary prepared until `untilStop` resolves.
 *
 * @param readConfig - Parses the environment the way the primary did.
 * @param describe - Turns a start-up error into one line for the primary to print.
 */
export async function serveWorker(
  readConfig: (env: ServerEnv) => ServerConfig,
  describe: (error: unknown, config: ServerConfig) => Error,
  untilStop: Promise<void>,
): Promise<number> {
  const secrets = await new Promise<PrimaryMessage>((resolve) => {
    const onMessage = (message: PrimaryMessage) => {
      if (typeof message?.secret !== "string") return;
      process.off("message", onMessage);
      resolve(message);
    };
    process.on("message", onMessage);
    process.send?.({ ready: true } satisfies WorkerMessage);
  });
  const env: ServerEnv = {
    ...(process.env as ServerEnv),
    SECRET: secrets.secret,
    CLIENT_SECRETS: secrets.clientSecrets,
  };
  const config = readConfig(env);
  let gate;
  try {
    // The primary serves the metrics; this worker's registry reaches it over IPC.
    gate = await startGateServer({ ...gateServerOptions(config), metricsListen: undefined });
  } catch (error) {
    process.send?.({ error: describe(error, config).message } satisfies WorkerMessage);
    return 2;
  }
  process.send?.({ listening: gate.url } satisfies WorkerMessage);
  await untilStop;
  await gate.close();
  return 0;
}
