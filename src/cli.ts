#!/usr/bin/env node
/**
 * `tokengate`: serve the gate on Node, sign links, check links.
 * Exit codes: 0 ok, 1 the link would be refused, 2 usage or configuration error.
 * @module
 */
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readServerConfig, type ServerConfig, type ServerEnv } from "./config.js";
import { DEMO_CLIENT, DEMO_VIDEO, startDemoOrigin } from "./demo.js";
import { decide } from "./gate.js";
import { parseLink, splitTarget } from "./link.js";
import { messageLine } from "./log.js";
import { startGateServer } from "./node.js";
import { readSettings, SettingError } from "./settings.js";
import { parseTtl, signLink } from "./sign.js";
import { verifyToken } from "./token.js";

/** A usage or configuration problem: one line to stderr, exit code 2. */
class UsageError extends Error {}

const HELP = {
  main: `tokengate: verify Gcore-style protected temporary links in front of a video origin

Usage:
  tokengate serve [options]     run the gate on Node (demo mode without ORIGIN_URL)
  tokengate sign [options]      print a signed link
  tokengate check <url>         say whether the gate would serve a link, and why
  tokengate <command> --help    options of a command

Exit codes: 0 ok, 1 the link would be refused, 2 usage or configuration error.
`,
  serve: `Usage: tokengate serve [options]

Runs the gate on Node. Each option overrides the environment variable named beside it.
Without ORIGIN_URL it runs in demo mode: a bundled HLS sample as the origin, a generated
secret (unless SECRET is set), and a ready signed link printed at start.

  --origin-url URL        ORIGIN_URL         origin base URL (http or https)
  --secret-file PATH      SECRET             file holding the secret (there is no --secret:
                                             it would land in shell history and ps)
  --prefixes LIST         PREFIXES           guarded first path segments [videos,cmaf]
  --host HOST             HOST               address to listen on [127.0.0.1]
  --port N                PORT               port to listen on, 0 = any free one [8787]
  --workers N|auto        WORKERS            processes; auto = one per core [1]
  --listen-sockets N|auto LISTEN_SOCKETS     sockets listening on the port (SO_REUSEPORT) in
                                             one process; auto = 64 where Node 22.12+ on
                                             Linux allows it, else 1 [auto]
  --origin-timeout-ms N   ORIGIN_TIMEOUT_MS  time to origin response headers (then 504) and
                                             most quiet between body reads (then cut) [30000]
  --log-format FORMAT     LOG_FORMAT         json or pretty [json]
  -h, --help
`,
  sign: `Usage: tokengate sign --client ID --video ID [options]

Prints a protected link. The secret comes from --secret-file or the SECRET environment
variable; there is deliberately no --secret flag (shell history, ps).

  --client ID          client id (no '_')
  --video ID           video id
  --kind KIND          first path segment [videos]
  --ttl TTL            lifetime: 90s, 15m, 24h, 7d [24h]
  --expires SECONDS    absolute expiry in unix seconds (instead of --ttl)
  --file PATH          file under the video [master.m3u8]
  --base URL           gate URL to prefix, e.g. https://cdn.example.com
  --secret-file PATH   file holding the secret
  -h, --help
`,
  check: `Usage: tokengate check <url> [options]

Says in one line what the gate would answer for a link (200, 403 or 410) and why. With no
secret (--secret-file or SECRET) it can only check the link's shape and shows its parts.

  --secret-file PATH   file holding the secret
  --prefixes LIST      guarded first path segments [PREFIXES or videos,cmaf]
  --now SECONDS        judge as of this unix time instead of now
  -h, --help
`,
};

const HELP_FLAG = { type: "boolean", short: "h" } as const;

/** Runs node:util's parseArgs, turning its errors (unknown flag, missing value) into usage errors. */
function parsedArgs<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function readSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(
      `--secret-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret === "") throw new UsageError(`--secret-file: ${path} is empty`);
  return secret;
}

function secretFrom(file: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (file !== undefined) return readSecretFile(file);
  return env.SECRET || undefined;
}

/** "in 2 years", "3 h ago": a rough distance for humans. */
function relative(seconds: number): string {
  const abs = Math.abs(seconds);
  const units: [number, string, string][] = [
    [365 * 86_400, " year", " years"],
    [30 * 86_400, " month", " months"],
    [86_400, " day", " days"],
    [3600, " h", " h"],
    [60, " min", " min"],
    [1, " s", " s"],
  ];
  let phrase = "0 s";
  for (const [size, one, many] of units) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      phrase = `${n}${n === 1 ? one : many}`;
      break;
    }
  }
  return seconds >= 0 ? `in ${phrase}` : `${phrase} ago`;
}

function isoSeconds(unix: number): string {
  const date = new Date(unix * 1000);
  return Number.isFinite(date.getTime()) ? date.toISOString().replace(".000Z", "Z") : `${unix}`;
}

async function sign(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
): Promise<number> {
  const { values } = parsedArgs(() =>
    parseArgs({
      args,
      strict: true,
      options: {
        client: { type: "string" },
        video: { type: "string" },
        kind: { type: "string" },
        ttl: { type: "string" },
        expires: { type: "string" },
        file: { type: "string" },
        base: { type: "string" },
        "secret-file": { type: "string" },
        help: HELP_FLAG,
      },
    }),
  );
  if (values.help) return (out(HELP.sign), 0);
  if (values.client === undefined) throw new UsageError("sign: --client is required");
  if (values.video === undefined) throw new UsageError("sign: --video is required");
  if (values.ttl !== undefined && values.expires !== undefined) {
    throw new UsageError("sign: give --ttl or --expires, not both");
  }
  const secret = secretFrom(values["secret-file"], env);
  if (secret === undefined) {
    throw new UsageError("sign: no secret: pass --secret-file PATH or set SECRET");
  }
  try {
    const link = signLink({
      baseUrl: values.base,
      kind: values.kind,
      clientId: values.client,
      videoId: values.video,
      secret,
      file: values.file ?? "master.m3u8",
      ...(values.expires !== undefined
        ? { expires: values.expires }
        : { ttlSeconds: parseTtl(values.ttl ?? "24h") }),
    });
    out(link);
    return 0;
  } catch (error) {
    throw new UsageError(`sign: ${(error as Error).message}`);
  }
}

async function check(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
): Promise<number> {
  const { values, positionals } = parsedArgs(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        "secret-file": { type: "string" },
        prefixes: { type: "string" },
        now: { type: "string" },
        help: HELP_FLAG,
      },
    }),
  );
  if (values.help) return (out(HELP.check), 0);
  if (positionals.length !== 1) throw new UsageError("check: give exactly one link (URL or path)");
  const target = positionals[0]!;
  const now = values.now === undefined ? Math.floor(Date.now() / 1000) : Number(values.now);
  if (!Number.isSafeInteger(now)) throw new UsageError("check: --now must be unix seconds");
  const secret = secretFrom(values["secret-file"], env);
  let settings;
  try {
    settings = readSettings({
      SECRET: secret ?? "no-secret-given",
      ORIGIN_URL: "http://127.0.0.1",
      PREFIXES: values.prefixes ?? env.PREFIXES,
    }).gate;
  } catch (error) {
    throw new UsageError(`check: ${(error as Error).message}`);
  }
  const { path } = splitTarget(target);
  const parsed = parseLink(path);
  const decision = decide("GET", target, { ...settings, now: () => now });
  if (decision.action === "pass") {
    out(`404 not a protected link: the path is not under ${[...settings.prefixes].join(", ")}`);
    return 1;
  }
  if (!parsed.ok) {
    out(`403 ${parsed.problem === "unsafe-path" ? "unsafe path" : "malformed"}: ${parsed.detail}`);
    return 1;
  }
  const link = parsed.link;
  const expires = Number(link.expires);
  if (secret === undefined) {
    out(
      `? no secret given: the link is well-formed; set SECRET or --secret-file to check its token`,
    );
    out(`  kind     ${link.kind}`);
    out(`  client   ${link.clientId}`);
    out(`  video    ${link.videoId}`);
    out(`  token    ${link.token}`);
    out(`  expires  ${link.expires} (${isoSeconds(expires)}, ${relative(expires - now)})`);
    out(`  file     ${link.file}`);
    return 0;
  }
  const verdict = verifyToken({ ...link, secret, now });
  if (verdict === "bad-token") {
    out("403 token does not match: check client id, video id, expires and secret");
    return 1;
  }
  if (verdict === "expired") {
    out(`410 expired ${relative(expires - now).replace(/^in /, "")} (at ${isoSeconds(expires)})`);
    return 1;
  }
  if (verdict === "malformed") {
    out("403 malformed link");
    return 1;
  }
  out(`200 valid until ${isoSeconds(expires)} (${relative(expires - now)})`);
  return 0;
}

/** Flags of `serve`, as the environment variables they override. */
function serveEnv(args: string[], env: NodeJS.ProcessEnv): { env: ServerEnv; help: boolean } {
  const { values } = parsedArgs(() =>
    parseArgs({
      args,
      strict: true,
      options: {
        "origin-url": { type: "string" },
        "secret-file": { type: "string" },
        prefixes: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        workers: { type: "string" },
        "listen-sockets": { type: "string" },
        "origin-timeout-ms": { type: "string" },
        "log-format": { type: "string" },
        help: HELP_FLAG,
      },
    }),
  );
  const merged: ServerEnv = {
    ORIGIN_URL: values["origin-url"] ?? env.ORIGIN_URL,
    SECRET:
      values["secret-file"] !== undefined ? readSecretFile(values["secret-file"]) : env.SECRET,
    PREFIXES: values.prefixes ?? env.PREFIXES,
    HOST: values.host ?? env.HOST,
    PORT: values.port ?? env.PORT,
    WORKERS: values.workers ?? env.WORKERS,
    LISTEN_SOCKETS: values["listen-sockets"] ?? env.LISTEN_SOCKETS,
    ORIGIN_TIMEOUT_MS: values["origin-timeout-ms"] ?? env.ORIGIN_TIMEOUT_MS,
    LOG_FORMAT: values["log-format"] ?? env.LOG_FORMAT,
  };
  return { env: merged, help: values.help === true };
}

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
  const lines = [
    "",
    "  tokengate is running in DEMO MODE: ORIGIN_URL is not set, so it serves a bundled",
    "  6-second HLS sample with a generated secret. Set ORIGIN_URL and SECRET for real use.",
    "",
    `  Signed link (valid 24 h):  ${link}`,
    "",
    `  curl -i '${link}'`,
    `  ffplay '${link}'      (or open it in VLC: Media > Open Network Stream)`,
    "",
  ];
  return lines.join("\n");
}

/** Runs `tokengate serve` until SIGTERM/SIGINT. */
async function serve(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = serveEnv(args, env);
  if (flags.help) return (process.stdout.write(HELP.serve), 0);
  const config = readServerConfig(flags.env, availableParallelism());
  const say = (line: string) => process.stdout.write(line + "\n");
  const info = (message: string) => say(messageLine(config.logFormat, "info", message));

  let demoOrigin: Awaited<ReturnType<typeof startDemoOrigin>> | undefined;
  let runEnv: ServerEnv = flags.env;
  if (config.demo) {
    demoOrigin = await startDemoOrigin();
    runEnv = {
      ...flags.env,
      ORIGIN_URL: demoOrigin.url,
      SECRET: config.demoSecret ?? randomSecret(),
    };
  }

  if (config.workers > 1) return servePrimary(config, runEnv, demoOrigin, info);

  let gate;
  try {
    gate = await startGateServer({
      settings: readSettings(runEnv),
      host: config.host,
      port: config.port,
      listenSockets: config.listenSockets,
      logFormat: config.logFormat,
    });
  } catch (error) {
    await demoOrigin?.close();
    throw listenError(error, config);
  }
  info(
    `tokengate listening on ${gate.url} (origin ${config.demo ? "demo sample" : runEnv.ORIGIN_URL})`,
  );
  if (config.demo) say(demoBanner(gate.url, runEnv.SECRET!));
  await untilSignal();
  info("shutting down: no new connections, finishing in-flight responses");
  await gate.close();
  await demoOrigin?.close();
  return 0;
}

function listenError(error: unknown, config: ServerConfig): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE")
    return new SettingError("PORT", `${config.port} is already in use on ${config.host}`);
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
    return new SettingError("HOST", `cannot listen on ${config.host} (${code})`);
  }
  if (code === "EACCES") return new SettingError("PORT", `not allowed to listen on ${config.port}`);
  return error as Error;
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

/** `WORKERS` > 1: fork workers sharing the port, restart any that die, stop them on a signal. */
async function servePrimary(
  config: ServerConfig,
  runEnv: ServerEnv,
  demoOrigin: { close(): Promise<void> } | undefined,
  info: (message: string) => void,
): Promise<number> {
  cluster.setupPrimary({ exec: fileURLToPath(import.meta.url), args: ["__worker"] });
  const workerEnv = { ...runEnv, TOKENGATE_WORKER: "1" } as Record<string, string>;
  let stopping = false;
  let announced = false;
  const fork = () => cluster.fork(workerEnv);
  const failed = new Promise<number>((resolve) => {
    cluster.on("message", (_worker, message: { listening?: string; error?: string }) => {
      if (message.error) {
        stopping = true;
        process.stderr.write(`tokengate: ${message.error}\n`);
        for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
        resolve(2);
      } else if (message.listening && !announced) {
        announced = true;
        info(`tokengate listening on ${message.listening} with ${config.workers} workers`);
        if (config.demo) process.stdout.write(demoBanner(message.listening, runEnv.SECRET!) + "\n");
      }
    });
  });
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    info(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    fork();
  });
  for (let i = 0; i < config.workers; i++) fork();
  const result = await Promise.race([untilSignal().then(() => 0), failed]);
  stopping = true;
  info("shutting down workers: finishing in-flight responses");
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
  await demoOrigin?.close();
  return result;
}

/** A cluster worker: serve from the environment the primary prepared. */
async function serveWorker(): Promise<number> {
  const config = readServerConfig(process.env as ServerEnv, 1);
  let gate;
  try {
    gate = await startGateServer({
      settings: readSettings(process.env as ServerEnv),
      host: config.host,
      port: config.port,
      listenSockets: config.listenSockets,
      logFormat: config.logFormat,
    });
  } catch (error) {
    const problem = listenError(error, config);
    process.send?.({ error: problem.message });
    return 2;
  }
  process.send?.({ listening: gate.url });
  await untilSignal();
  await gate.close();
  return 0;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (line: string) => void = (line) =>
    process.stdout.write(line.endsWith("\n") ? line : line + "\n"),
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "serve":
        return await serve(rest, env);
      case "__worker":
        return await serveWorker();
      case "sign":
        return await sign(rest, env, out);
      case "check":
        return await check(rest, env, out);
      case undefined:
      case "-h":
      case "--help":
      case "help":
        out(HELP.main);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"; try tokengate --help`);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof SettingError ||
      error instanceof RangeError ||
      error instanceof TypeError
    ) {
      process.stderr.write(`tokengate: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`tokengate: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
if (process.argv[2] === "serve" || process.argv[2] === "__worker") {
  // The servers have closed; a keep-alive timer or a worker's IPC channel must not hold a
  // stopped gate open.
  process.exit();
}
