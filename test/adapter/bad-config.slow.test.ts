import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { run } from "../helpers/serve.js";
import { signedPath } from "../helpers/links.js";

/** The secret every row runs with; put into bad values too, to prove no message echoes it. */
const CANARY = "S3cr3t-canary-5b1f0e7a";

/** Invalid values of each gate setting (shared by the Node server and the Worker). */
const GATE_ROWS: [setting: string, value: string][] = [
  ["SECRET", ""],
  ["SECRET", " "],
  ["SECRET", "\t \n"],
  // A newline from `echo` is a separator now (key rotation), not part of the secret; what a
  // list cannot be is empty entries or a copy.
  ["SECRET", "new,,old"],
  ["SECRET", `${CANARY} ${CANARY}`],
  ["SECRET", " , "],
  ["CLIENT_SECRETS", "{"],
  ["CLIENT_SECRETS", `{"2675": ${CANARY}}`],
  ["CLIENT_SECRETS", `{"2675": "${CANARY}",}`],
  ["CLIENT_SECRETS", "[]"],
  ["CLIENT_SECRETS", "{}"],
  ["CLIENT_SECRETS", `{"26_75": "${CANARY}"}`],
  ["CLIENT_SECRETS", `{"2675": ["${CANARY}"]}`],
  ["CLIENT_SECRETS", `{"2675": ""}`],
  ["CLIENT_SECRETS", `{"2675": "${CANARY},,old"}`],
  ["EXPIRY_LEEWAY_S", "-1"],
  ["EXPIRY_LEEWAY_S", "86401"],
  ["EXPIRY_LEEWAY_S", "1.5"],
  ["CACHE", "yes"],
  ["METRICS", "yes"],
  ["CACHE_DEFAULT_TTL_S", "-1"],
  ["CACHE_DEFAULT_TTL_S", "1h"],
  ["CACHE_KEY_QUERY", "q,,lang"],
  ["CACHE_KEY_QUERY", "a&b"],
  ["CACHE_KEY_QUERY", `q=${CANARY}`],
  // A key for a cache that is off: a mistake, not a choice.
  ["CACHE_KEY_QUERY", "none"],
  ["ORIGIN_URL", "http://127.0.0.1:0"],
  // Outside attack: the start-up line shows the origin, so a secret in it would be logged.
  ["ORIGIN_URL", `http://127.0.0.1:9/${CANARY}`],
  ["ORIGIN_TIMEOUT_MS", "1"],
  ["ORIGIN_TIMEOUT_MS", "99"],
  ["BIND_IP", "yes"],
  ["BIND_IP", "ON"],
  ["QUERY_TOKEN_PREFIXES", "a/b"],
  ["QUERY_TOKEN_PREFIXES", "x,,y"],
  ["QUERY_TOKEN_PREFIXES", "videos"],
  ["QUERY_TOKEN_PREFIXES", "**"],
  ["MP4_TOKENS", "yes"],
  ["MP4_TOKENS", "ON"],
  ["CORS_ORIGINS", "https://player.example/"],
  ["CORS_ORIGINS", "player.example"],
  ["CORS_ORIGINS", "*, https://player.example"],
  ["CORS_ORIGINS", `https://${CANARY}.example/`],
  // Names the header policy never forwards, and names that are not header names.
  ["FORWARD_HEADERS", "Host"],
  ["FORWARD_HEADERS", "Connection"],
  ["FORWARD_HEADERS", "X-Playback-Session-Id, Cookie"],
  ["FORWARD_HEADERS", "Authorization"],
  ["FORWARD_HEADERS", "X-Forwarded-Host"],
  ["FORWARD_HEADERS", "Forwarded"],
  ["FORWARD_HEADERS", "Transfer-Encoding"],
  ["FORWARD_HEADERS", "X-Custom-IP-Authorization"],
  // Credential and rewrite spellings a red team found the check let through.
  ["FORWARD_HEADERS", "X-Api-Key"],
  ["FORWARD_HEADERS", "X-Request-URI"],
  ["FORWARD_HEADERS", "X_Real_IP"],
  ["FORWARD_HEADERS", "X-A,,X-B"],
  ["FORWARD_HEADERS", "X-A B"],
  ["FORWARD_HEADERS", `X-${CANARY}:`],
  ["ORIGIN_URL", "https://user:pass@127.0.0.1:9"],
  ["ORIGIN_URL", `https://${CANARY}@origin.test`],
  ["ORIGIN_URL", `https://user:${CANARY}@origin.test`],
  ["ORIGIN_URL", "https://@origin.test"],
  ["ORIGIN_URL", "https://:@origin.test"],
  ["ORIGIN_URL", "http://origin.test/#frag"],
  ["ORIGIN_URL", "http://origin.test/#"],
  ["ORIGIN_URL", "http://origin.test/?q=1"],
  ["ORIGIN_URL", "http://origin.test/?"],
  ["ORIGIN_URL", "ftp://origin.test"],
  ["ORIGIN_URL", "file:///etc/passwd"],
  ["ORIGIN_URL", "javascript:alert(1)"],
  ["ORIGIN_URL", "data:text/plain,x"],
  ["ORIGIN_URL", "ws://origin.test"],
  ["ORIGIN_URL", "origin.test:8080"],
  ["ORIGIN_URL", "origin.test"],
  ["ORIGIN_URL", "/media"],
  ["ORIGIN_URL", "http://[::1"],
  ["ORIGIN_URL", "http://"],
  ["ORIGIN_URL", "http://exa mple.test"],
  ["ORIGIN_URL", "http://ori\tgin.test"],
  ["ORIGIN_URL", CANARY],
  ["ORIGIN_URL", `${CANARY}:x`],
  ["ORIGIN_URL", `http://${CANARY}:99999`],
  ["PREFIXES", "/"],
  ["PREFIXES", "a/b"],
  ["PREFIXES", ".."],
  ["PREFIXES", "."],
  ["PREFIXES", "videos,,cmaf"],
  ["PREFIXES", "videos,"],
  ["PREFIXES", ","],
  ["PREFIXES", " , "],
  ["PREFIXES", "videos,videos"],
  ["PREFIXES", "vid eos"],
  ["PREFIXES", "vid\neos"],
  ["PREFIXES", "%2e%2e"],
  ["PREFIXES", "*"],
  ["PREFIXES", "vidéos"],
  ["PREFIXES", `videos,${CANARY}/x`],
  ["ORIGIN_TIMEOUT_MS", "soon"],
  ["ORIGIN_TIMEOUT_MS", "-1"],
  ["ORIGIN_TIMEOUT_MS", "1.5"],
  ["ORIGIN_TIMEOUT_MS", "1e3"],
  ["ORIGIN_TIMEOUT_MS", "0x10"],
  ["ORIGIN_TIMEOUT_MS", "+5"],
  ["ORIGIN_TIMEOUT_MS", "3600001"],
  ["ORIGIN_TIMEOUT_MS", "99999999999999999999999"],
  ["ORIGIN_TIMEOUT_MS", "１２"],
  ["ORIGIN_TIMEOUT_MS", "12abc"],
  ["ORIGIN_TIMEOUT_MS", "1\n2"],
  ["ORIGIN_TIMEOUT_MS", CANARY],
];

/** Invalid values of the Node server's own settings. */
const SERVER_ROWS: [setting: string, value: string][] = [
  ["CACHE_MAX_BYTES", "1x"],
  ["CACHE_MAX_BYTES", "-1"],
  ["CACHE_MAX_BYTES", "2000g"],
  // A size for a cache that is off: a mistake, not a choice.
  ["CACHE_MAX_BYTES", "1m"],
  ["HOST", "not a host"],
  ["HOST", "http://127.0.0.1"],
  ["HOST", "127.0.0.1:8787"],
  ["HOST", `${CANARY}!`],
  ["HOST", CANARY],
  ["PORT", "http"],
  ["PORT", "-1"],
  ["PORT", "65536"],
  ["PORT", "1.5"],
  ["PORT", "1e3"],
  ["PORT", "80 80"],
  ["PORT", "80\n80"],
  ["PORT", CANARY],
  ["WORKERS", "many"],
  ["WORKERS", "0"],
  ["WORKERS", "257"],
  ["WORKERS", "-1"],
  ["WORKERS", "Auto"],
  ["LISTEN_SOCKETS", "0"],
  ["LISTEN_SOCKETS", "1025"],
  ["LISTEN_SOCKETS", "many"],
  ["CLIENT_TIMEOUT_MS", "soon"],
  ["CLIENT_TIMEOUT_MS", "-1"],
  ["CLIENT_TIMEOUT_MS", "3600001"],
  ["CLIENT_TIMEOUT_MS", "1e3"],
  ["CLIENT_TIMEOUT_MS", "1"],
  ["CLIENT_TIMEOUT_MS", "99"],
  ["HOST", "0"],
  ["HOST", "1"],
  ["TRUST_PROXY", "10.0.0.0/33"],
  ["TRUST_PROXY", "proxy.local"],
  ["TRUST_PROXY", "10.0.0.1,"],
  ["REQUEST_TIMEOUT_MS", "0"],
  ["REQUEST_TIMEOUT_MS", "99"],
  ["REQUEST_TIMEOUT_MS", "3600001"],
  ["REQUEST_TIMEOUT_MS", "soon"],
  ["REQUEST_TIMEOUT_MS", "60s"],
  ["KEEPALIVE_TIMEOUT_MS", "0"],
  ["KEEPALIVE_TIMEOUT_MS", "99"],
  ["KEEPALIVE_TIMEOUT_MS", "soon"],
  ["MAX_CONNECTIONS", "-1"],
  ["MAX_CONNECTIONS", "1000001"],
  ["MAX_CONNECTIONS", "many"],
  ["MAX_CONNECTIONS", "1.5"],
  ["ORIGIN_CONNECTIONS", "0"],
  ["ORIGIN_CONNECTIONS", "65537"],
  ["ORIGIN_CONNECTIONS", "x"],
  ["ORIGIN_KEEPALIVE", "maybe"],
  ["ORIGIN_KEEPALIVE", "ON"],
  ["ORIGIN_KEEPALIVE", "true"],
  ["ORIGIN_KEEPALIVE", CANARY],
  ["LOG_FORMAT", "xml"],
  ["LOG_FORMAT", "JSON"],
  ["LOG_FORMAT", `${CANARY}\n`],
  ["REQUESTS_PER_CLIENT", "-1"],
  ["REQUESTS_PER_CLIENT", "65537"],
  ["REQUESTS_PER_CLIENT", "many"],
  ["METRICS_LISTEN", "9464"],
  ["METRICS_LISTEN", "127.0.0.1"],
  ["METRICS_LISTEN", "127.0.0.1:"],
  ["METRICS_LISTEN", "127.0.0.1:65536"],
  ["METRICS_LISTEN", "127.0.0.1:http"],
  ["METRICS_LISTEN", "::1:9464"],
  ["METRICS_LISTEN", "http://127.0.0.1:9464"],
  ["METRICS_LISTEN", "OFF"],
  ["METRICS_LISTEN", `${CANARY}!:9464`],
];

/** What `tokengate serve` wrote to stderr, checked for the shape every refusal must have. */
async function refusal(env: Record<string, string | undefined>, args: string[] = []) {
  // PORT=0 rather than `--port 0`, which would win over a bad PORT row.
  const child = run(["serve", ...args], {
    ORIGIN_URL: "http://127.0.0.1:9",
    SECRET: CANARY,
    PORT: "0",
    ...env,
  });
  // "close" comes once stderr is read to its end; "exit" may come before. A server that starts
  // after all is stopped here, not left running: the row then fails on its exit code.
  const started = setTimeout(() => child.proc.kill("SIGKILL"), 10_000);
  await new Promise((resolve) => child.proc.once("close", resolve));
  clearTimeout(started);
  const code = await child.exited;
  const stderr = child.stderr.join("");
  expect(code).toBe(2);
  expect(stderr.endsWith("\n")).toBe(true);
  expect(stderr.slice(0, -1)).not.toMatch(/[\r\n]/);
  expect(stderr).not.toContain(CANARY);
  expect(child.lines.filter((line) => line.includes("listening"))).toEqual([]);
  return stderr.slice(0, -1);
}

describe("tokengate serve with a bad setting", () => {
  it.concurrent.each([...GATE_ROWS, ...SERVER_ROWS])(
    "%s=%j stops it with exit code 2 and one line naming the setting, without the secret",
    async (setting, value) => {
      const line = await refusal({ [setting]: value });
      expect(line).toMatch(new RegExp(`^tokengate: ${setting}: \\S`));
    },
  );

  it.concurrent.each([
    ["PORT", ["--port", "http"]],
    ["REQUEST_TIMEOUT_MS", ["--request-timeout-ms", "0"]],
    ["KEEPALIVE_TIMEOUT_MS", ["--keepalive-timeout-ms", "soon"]],
    ["MAX_CONNECTIONS", ["--max-connections=-5"]],
    ["ORIGIN_URL", ["--origin-url", `https://u:${CANARY}@origin.test`]],
  ])("names %s when the bad value comes from a flag", async (setting, args) => {
    const line = await refusal({}, args);
    expect(line).toMatch(new RegExp(`^tokengate: ${setting}: \\S`));
  });

  it.concurrent.each([
    ["a flag's value that looks like a flag", ["--max-connections", "-5"], /--max-connections/],
    ["an unknown flag carrying the secret", [`--secret=${CANARY}`], /Unknown option '--secret'/],
    ["the secret as an argument", [CANARY], /argument holds the SECRET/],
  ])("refuses %s in one line without the secret", async (_, args, message) => {
    expect(await refusal({}, args)).toMatch(message);
  });

  it("says what is wrong with an origin URL without repeating it", async () => {
    const lines = await Promise.all(
      [
        "https://user:pass@origin.test",
        "http://origin.test/#frag",
        "http://origin.test/?q=1",
        "ftp://origin.test",
        "origin.test",
      ].map((value) => refusal({ ORIGIN_URL: value })),
    );
    expect(lines[0]).toMatch(/credentials/);
    expect(lines[1]).toMatch(/fragment/);
    expect(lines[2]).toMatch(/query/);
    expect(lines[3]).toMatch(/http:\/\/ or https:\/\/, got "ftp:"/);
    expect(lines[4]).toMatch(/not an absolute URL/);
    expect(lines.join("\n")).not.toMatch(/user:pass@|#frag|q=1|origin\.test/);
  });

  it("shows a bad value that does not hold the secret, quoted on one line", async () => {
    expect(await refusal({ PORT: "80\n80" })).toBe(
      'tokengate: PORT: must be a whole number from 0 to 65535, got "80\\n80"',
    );
  });

  it("withholds a bad value that holds the secret, and says so", async () => {
    const line = await refusal({ PORT: `${CANARY}` });
    expect(line).toMatch(/^tokengate: PORT: .*not shown.*SECRET/);
  });

  it("accepts whitespace around a number, and takes an empty setting for unset", async () => {
    const child = run(["serve"], {
      ORIGIN_URL: "http://127.0.0.1:9",
      SECRET: CANARY,
      PORT: " 0 ",
      REQUEST_TIMEOUT_MS: " 2000 ",
      MAX_CONNECTIONS: "",
      PREFIXES: " videos , cmaf ",
    });
    try {
      expect(await child.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/)).toBeTruthy();
    } finally {
      await child.stop();
    }
  });
});

describe("tokengate serve --secret-file", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tokengate-bad-config-"));
    writeFileSync(join(dir, "empty"), "");
    writeFileSync(join(dir, "newline"), "\n");
    writeFileSync(join(dir, "blank"), "  \t\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["a missing file", "missing", "--secret-file"],
    ["an empty file", "empty", "--secret-file"],
    ["a file holding only a newline", "newline", "--secret-file"],
    ["a file holding only whitespace", "blank", "SECRET"],
    ["a directory", ".", "--secret-file"],
  ])("refuses %s in one line naming it", async (_, name, named) => {
    const line = await refusal({ SECRET: undefined }, ["--secret-file", join(dir, name)]);
    expect(line).toMatch(new RegExp(`^tokengate: ${named}: \\S`));
  });
});

describe("the Worker with a bad setting (Miniflare, dist/worker.bundle.js)", () => {
  /** Gate rows plus bindings of the wrong type, as a `[vars]` value without quotes gives. */
  const rows: [setting: string, value: unknown][] = [
    ...GATE_ROWS,
    ["ORIGIN_TIMEOUT_MS", 30000],
    ["PREFIXES", ["videos", "cmaf"]],
    ["ORIGIN_URL", { url: "http://127.0.0.1:9" }],
    ["SECRET", 12345],
  ];
  let origin: Origin;
  let mf: Miniflare;
  const output: string[] = [];

  beforeAll(async () => {
    origin = await startOrigin();
    // One worker per row in one workerd: each with the row's bad value over settings that
    // would otherwise serve from the recording origin.
    mf = new Miniflare({
      workers: rows.map(([setting, value], i) => ({
        name: `row-${i}`,
        // Reached by its own host through dispatchFetch: getWorker()'s proxy fetches through
        // Miniflare's synchronous fetcher, which lost track of its replies under load.
        routes: [`row-${i}.test/*`],
        scriptPath: "dist/worker.bundle.js",
        modules: true,
        compatibilityDate: "2026-04-26",
        bindings: { ORIGIN_URL: origin.url, SECRET: CANARY, [setting]: value as string },
      })),
      host: "127.0.0.1",
      port: 0,
      handleRuntimeStdio(stdout, stderr) {
        for (const stream of [stdout, stderr]) {
          stream.setEncoding("utf8");
          stream.on("data", (text: string) => output.push(text));
        }
      },
    });
    await mf.ready;
  });
  afterAll(async () => {
    await mf?.dispose();
    await origin?.close();
  });

  it.each(rows.map((row, i) => [row[0], row[1], i] as const))(
    "%s=%j answers every request 500 naming the setting, never contacting the origin",
    async (setting, _, i) => {
      const before = origin.requests.length;
      for (const path of [signedPath("a.ts", { secret: CANARY }), "/", "/healthz"]) {
        const res = await mf.dispatchFetch(`http://row-${i}.test${path}`);
        const body = await res.text();
        expect(res.status).toBe(500);
        expect(body).toContain(`(${setting})`);
        expect(body).not.toContain(CANARY);
        expect(res.headers.get("cache-control")).toBe("no-store");
      }
      expect(origin.requests.slice(before)).toEqual([]);
    },
  );

  it("logs why in lines that name each setting and never hold the secret", async () => {
    for (let i = 0; i < rows.length; i++) {
      await (await mf.dispatchFetch(`http://row-${i}.test/`)).text();
    }
    // One line per refusing Worker is the signal: wait for them, then read what they say.
    const refusals = () =>
      output
        .join("")
        .split("\n")
        .filter((line) => line.includes("refusing to serve"));
    for (let i = 0; i < 250 && refusals().length < rows.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const log = output.join("");
    const lines = refusals();
    expect(lines.length).toBeGreaterThanOrEqual(rows.length);
    for (const setting of new Set(rows.map((row) => row[0]))) {
      expect(lines.some((line) => line.includes(`refusing to serve: ${setting}: `))).toBe(true);
    }
    expect(log).not.toContain(CANARY);
  });
});
