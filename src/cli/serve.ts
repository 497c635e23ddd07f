/**
 * `tokengate serve`: the gate on Node until SIGTERM/SIGINT, in one process or a cluster.
 * @module
 */
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  originPrefixWarning,
  parseSecrets,
  SettingError,
  withoutSecret,
} from "../core/settings.js";
import { messageLine } from "../adapter/node/access-log.js";
import { servePrimary, serveWorker } from "../adapter/node/cluster.js";
import {
  gateServerOptions,
  readServerConfig,
  type ServerConfig,
  type ServerEnv,
} from "../adapter/node/config.js";
import { DEMO_CLIENT, DEMO_VIDEO, startDemoOrigin } from "../adapter/node/demo-origin.js";
import { isMetricsListenError } from "../adapter/node/metrics.js";
import { startGateServer } from "../adapter/node/server.js";
import { signLink } from "../sign.js";
import { SETTINGS } from "../core/settings-table.js";
import {
  clientSecretsFrom,
  envWithFlags,
  flagOptions,
  HELP_FLAG,
  parsedArgs,
  readSecretFile,
} from "./args.js";
import { HELP } from "./help.js";

/** Flags of `serve`, as the environment variables they override. */
function serveEnv(args: string[], env: NodeJS.ProcessEnv): { env: ServerEnv; help: boolean } {
  const { values } = parsedArgs(() => {
    try {
      return parseArgs({
        args,
        strict: true,
        options: { ...flagOptions(SERVE_SPECS, "serve"), help: HELP_FLAG },
      });
    } catch (error) {
      // parseArgs repeats a stray argument in its message, which must not show the secret.
      const secret = env.SECRET?.trim() ? env.SECRET : undefined;
      if (secret === undefined || !(error as Error).message.includes(secret)) throw error;
      throw new Error("an argument holds the SECRET; pass it in SECRET or --secret-file only");
    }
  });
  const merged: ServerEnv = envWithFlags(SERVE_SPECS, "serve", values, env, (spec, path) =>
    spec.env === "SECRET" ? readSecretFile(path) : clientSecretsFrom(path, env),
  );
  return { env: merged, help: values.help === true };
}

/** The settings `serve` takes. */
const SERVE_SPECS = Object.values(SETTINGS);

function randomSecret(): string {
  const bytes = new Uint8Array(18);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString("base64url");
}

function demoBanner(url: string, secret: string): string {
  const link =
    url +
    signLink({
      clientId: DEMO_CLIENT,
      videoId: DEMO_VIDEO,
      secret,
      ttlSeconds: 24 * 3600,
      file: "master.m3u8",
    });
  const port = new URL(url).port || "80";
  const lines = [
    "",
    "  tokengate is running in DEMO MODE: ORIGIN_URL is not set, so it serves a bundled",
    "  6-second HLS sample with a generated secret. Set ORIGIN_URL and SECRET for real use.",
    "",
    // Said in words: the JSON log line above is easy to miss on a first run.
    `  Listening on ${url} (port ${port}; --port or PORT changes it)`,
    "",
    `  Signed link (valid 24 h):  ${link}`,
    "",
    `  curl -i '${link}'`,
    `  ffplay '${link}'      (or open it in VLC: Media > Open Network Stream)`,
    "",
  ];
  return lines.join("\n");
}

/** Runs `tokengate serve` until SIGTERM/SIGINT; returns the exit code. */
export async function serve(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = serveEnv(args, env);
  if (flags.help) return (process.stdout.write(HELP.serve), 0);
  // Taken before anything starts: a signal on the line that says the gate listens (or sooner)
  // is a shutdown, not a kill mid-start.
  const stop = untilSignal();
  // Without ORIGIN_URL: demo mode, the bundled sample as the origin and, unless SECRET is set,
  // a generated secret; the settings are read once, with them.
  const demo = (flags.env.ORIGIN_URL ?? "").trim() === "";
  let demoOrigin: Awaited<ReturnType<typeof startDemoOrigin>> | undefined;
  let runEnv: ServerEnv = flags.env;
  let config: ServerConfig;
  try {
    if (demo) {
      demoOrigin = await startDemoOrigin();
      runEnv = {
        ...flags.env,
        ORIGIN_URL: demoOrigin.url,
        SECRET: flags.env.SECRET || randomSecret(),
      };
    }
    config = readServerConfig(runEnv, availableParallelism());
  } catch (error) {
    await demoOrigin?.close();
    throw error;
  }
  const say = (line: string) => process.stdout.write(line + "\n");
  const info = (message: string) => say(messageLine(config.logFormat, "info", message));
  const { gate: gateSettings, origin } = config.settings;
  const warning = originPrefixWarning(origin, gateSettings.prefixes, gateSettings.queryPrefixes);
  // On stderr, where a first run looks for trouble; the gate still starts.
  if (!demo && warning !== undefined) {
    process.stderr.write(messageLine(config.logFormat, "warn", warning) + "\n");
  }

  if (config.workers > 1) {
    let code;
    try {
      code = await servePrimary(CLI, [WORKER_COMMAND], config, runEnv, {
        info,
        onMetrics: (url) => info(`metrics on ${url}`),
        onListening(url) {
          info(`tokengate listening on ${url} with ${config.workers} workers`);
          if (demo) say(demoBanner(url, parseSecrets("SECRET", runEnv.SECRET!)[0]!));
        },
        untilStop: stop,
      });
    } catch (error) {
      await demoOrigin?.close();
      throw listenError(error, config, runEnv);
    }
    await demoOrigin?.close();
    return code;
  }

  let gate;
  try {
    gate = await startGateServer(gateServerOptions(config));
  } catch (error) {
    await demoOrigin?.close();
    throw listenError(error, config, runEnv);
  }
  if (gate.metricsUrl !== undefined) info(`metrics on ${gate.metricsUrl}`);
  info(`tokengate listening on ${gate.url} (origin ${demo ? "demo sample" : runEnv.ORIGIN_URL})`);
  if (demo) say(demoBanner(gate.url, parseSecrets("SECRET", runEnv.SECRET!)[0]!));
  await stop;
  info("shutting down: no new connections, finishing in-flight responses");
  await gate.close();
  await demoOrigin?.close();
  return 0;
}

/** The hidden command a cluster worker runs. */
export const WORKER_COMMAND = "__worker";
/** This CLI's script: what cluster workers run. */
const CLI = fileURLToPath(new URL("./index.js", import.meta.url));

/** A cluster worker's life (`tokengate __worker`, started by the primary only). */
export function worker(): Promise<number> {
  // The secret reaches the worker inside serveWorker; keep the environment it was read with.
  let env: ServerEnv = {};
  return serveWorker(
    (withSecret) => readServerConfig((env = withSecret), 1),
    (error, config) => listenError(error, config, env),
    untilSignal(),
  );
}

/** A start-up error in the words of the setting that caused it, never showing the secret. */
function listenError(error: unknown, config: ServerConfig, env: ServerEnv): Error {
  const code = (error as NodeJS.ErrnoException).code;
  let named: Error = error as Error;
  const metrics = config.metricsListen;
  if (isMetricsListenError(error) && metrics !== undefined) {
    const where = `${metrics.port} on ${metrics.host}`;
    named = new SettingError(
      "METRICS_LISTEN",
      code === "EADDRINUSE"
        ? `${metrics.port} is already in use on ${metrics.host}`
        : code === "EACCES"
          ? `not allowed to listen on ${where}`
          : `cannot listen on ${where} (${code})`,
    );
  } else if (code === "EADDRINUSE") {
    named = new SettingError("PORT", `${config.port} is already in use on ${config.host}`);
  } else if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
    named = new SettingError("HOST", `cannot listen on ${config.host} (${code})`);
  } else if (code === "EACCES") {
    named = new SettingError("PORT", `not allowed to listen on ${config.port}`);
  }
  return withoutSecret(named, env) as Error;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
