/**
 * Key rotation (SECRET with several secrets), many tenants (CLIENT_SECRETS) and clock leeway
 * (EXPIRY_LEEWAY_S) through both runtimes, and CLIENT_SECRETS reaching cluster workers over IPC
 * only.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQueryToken } from "../../src/core/query-token.js";
import { signMp4Token } from "../../src/core/query-token.js";
import { signToken } from "../../src/core/token.js";
import { get } from "../helpers/http.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { run, serve } from "../helpers/serve.js";
import { RUNTIMES, type Gate } from "../helpers/runtimes.js";

const NEW = "new-secret-2026";
const OLD = "old-secret-2025";
const TENANT_A = "tenant-a-secret";
const TENANT_A_OLD = "tenant-a-previous";
const TENANT_B = "tenant-b-secret";
const now = Math.floor(Date.now() / 1000);

function link(secret: string, client = "2675", expires = now + 3600, video = "rotvideo"): string {
  const token = signToken({ clientId: client, videoId: video, secret, expires });
  return `/videos/${client}_${video}/${token}/${expires}/seg.ts`;
}

const runtimes = RUNTIMES;

describe.each(Object.keys(runtimes))("secrets through %s", (runtime) => {
  let origin: Origin;
  const gates: Gate[] = [];
  const start = async (env: Record<string, string>) => {
    const gate = await runtimes[runtime]!({ ORIGIN_URL: origin.url, ...env });
    gates.push(gate);
    return gate;
  };
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(async () => {
    await Promise.all(gates.map((gate) => gate.close()));
    await origin?.close();
  });

  it("SECRET with two secrets: links of either verify; expired is still 410; others 403", async () => {
    const gate = await start({
      SECRET: `${NEW}, ${OLD}`,
      QUERY_TOKEN_PREFIXES: "public",
      MP4_TOKENS: "on",
    });
    expect((await get(gate.url + link(NEW))).status).toBe(200);
    expect((await get(gate.url + link(OLD))).status).toBe(200);
    expect((await get(gate.url + link("retired-secret"))).status).toBe(403);
    expect((await get(gate.url + link(OLD, "2675", now - 5))).status).toBe(410);
    // Every link form takes every secret.
    const expires = now + 600;
    const md5 = signQueryToken({ path: "/public/a/x.ts", secret: OLD, expires });
    expect((await get(`${gate.url}/public/a/x.ts?md5=${md5}&expires=${expires}`)).status).toBe(200);
    const uri = "/videos/2675_rotvideo/movie.mp4";
    const mp4 = signMp4Token({ uri, secret: OLD, expires });
    expect((await get(`${gate.url}${uri}?md5=${mp4}&expires=${expires}`)).status).toBe(200);
  });

  it("a rotation (add the new secret first, later drop the old) never breaks a link still valid", async () => {
    const before = await start({ SECRET: OLD });
    const during = await start({ SECRET: `${NEW} ${OLD}` });
    const after = await start({ SECRET: NEW });
    const signedBefore = link(OLD);
    const signedDuring = link(NEW);
    expect((await get(before.url + signedBefore)).status).toBe(200);
    expect((await get(during.url + signedBefore)).status).toBe(200);
    expect((await get(during.url + signedDuring)).status).toBe(200);
    expect((await get(after.url + signedDuring)).status).toBe(200);
    // Only once the old secret is dropped do its links stop.
    expect((await get(after.url + signedBefore)).status).toBe(403);
  });

  it("CLIENT_SECRETS: each client's own secrets; another's, the shared one or an unlisted client get 403", async () => {
    const gate = await start({
      SECRET: NEW,
      CLIENT_SECRETS: JSON.stringify({ "2675": `${TENANT_A} ${TENANT_A_OLD}`, "9001": TENANT_B }),
    });
    expect((await get(gate.url + link(TENANT_A, "2675"))).status).toBe(200);
    expect((await get(gate.url + link(TENANT_A_OLD, "2675"))).status).toBe(200);
    expect((await get(gate.url + link(TENANT_B, "9001"))).status).toBe(200);
    expect((await get(gate.url + link(TENANT_B, "2675"))).status).toBe(403);
    expect((await get(gate.url + link(NEW, "2675"))).status).toBe(403);
    const stranger = await get(gate.url + link(NEW, "4242"));
    expect(stranger.status).toBe(403);
    // Inherited names are no client ids.
    for (const id of ["constructor", "toString", "hasOwnProperty", "valueOf"]) {
      expect((await get(gate.url + link(NEW, id))).status).toBe(403);
    }
    expect((await get(gate.url + link(TENANT_A, "2675", now - 5))).status).toBe(410);
  });

  it("EXPIRY_LEEWAY_S: a link stays valid that many seconds past expires, then 410", async () => {
    const gate = await start({ SECRET: NEW, EXPIRY_LEEWAY_S: "120" });
    expect((await get(gate.url + link(NEW, "2675", now - 60))).status).toBe(200);
    expect((await get(gate.url + link(NEW, "2675", now - 180))).status).toBe(410);
    const strict = await start({ SECRET: NEW });
    expect((await get(strict.url + link(NEW, "2675", now - 60))).status).toBe(410);
  });
});

describe("CLIENT_SECRETS on the Node server", () => {
  let origin: Origin;
  let dir: string;
  beforeAll(async () => {
    origin = await startOrigin();
    dir = mkdtempSync(join(tmpdir(), "tokengate-clients-"));
  });
  afterAll(async () => {
    await origin?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads a file of 100,000 clients; with WORKERS=2 it reaches the workers over IPC, never their environment", async () => {
    const table: Record<string, string> = {};
    for (let i = 0; i < 100_000; i++) table[String(100_000 + i)] = `secret-of-client-${i}`;
    const file = join(dir, "clients.json");
    writeFileSync(file, JSON.stringify(table));
    // No SECRET at all: every client has its own.
    const gate = await serve({ ORIGIN_URL: origin.url, WORKERS: "2" }, [
      "--client-secrets-file",
      file,
    ]);
    try {
      for (const i of [0, 31_337, 99_999]) {
        const client = String(100_000 + i);
        expect((await get(gate.url + link(`secret-of-client-${i}`, client))).status).toBe(200);
        expect((await get(gate.url + link(`secret-of-client-${i + 1}`, client))).status).toBe(403);
      }
      const pids = new Set<number>([gate.proc.pid!]);
      for (const line of gate.lines)
        if (line.includes('"status":200')) pids.add(JSON.parse(line).pid);
      for (const pid of pids) {
        expect(readFileSync(`/proc/${pid}/environ`, "latin1"), `pid ${pid}`).not.toContain(
          "secret-of-client-",
        );
      }
    } finally {
      expect(await gate.stop()).toBe(0);
    }
  });

  it("refuses CDN token prefixes without SECRET (their tokens name no client), naming the setting", async () => {
    const file = join(dir, "one.json");
    writeFileSync(file, JSON.stringify({ "2675": TENANT_A }));
    const child = run(["serve", "--client-secrets-file", file, "--port", "0"], {
      ORIGIN_URL: origin.url,
      QUERY_TOKEN_PREFIXES: "public",
    });
    expect(await child.exited).toBe(2);
    const stderr = child.stderr.join("");
    expect(stderr).toMatch(/^tokengate: QUERY_TOKEN_PREFIXES: .*need SECRET/);
    expect(stderr).not.toContain(TENANT_A);
  });
});
