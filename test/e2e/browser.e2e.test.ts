/**
 * Real players in a real browser: hls.js and dash.js in Debian's Chromium (driven by
 * playwright-core), on a page of another origin, through the gate on both runtimes.
 * - Manifest propagation: an HLS stream (AES-128 key and segments), an fMP4 HLS stream and a
 *   DASH stream play to the end with a directory token alone.
 * - CORS (CORS_ORIGINS): the player sees 410 for an expired link and 403 for a tampered one,
 *   with Tokengate-Reason, where without CORS it sees only status 0; the bundled demo stream
 *   plays from another origin.
 * Needs /usr/bin/chromium (`.ci/run` installs Debian's) and ffmpeg for the media.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQueryToken } from "../../src/core/query-token.js";
import { signToken } from "../../src/core/token.js";
import { serve } from "../helpers/serve.js";
import { RUNTIMES, type Gate } from "../helpers/runtimes.js";
import { ENTRY, makeMedia, startMediaOrigin, STREAMS, type MediaOrigin } from "./media.js";

const SECRET = "browser-secret";
const now = Math.floor(Date.now() / 1000);
const require = createRequire(import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The player page: hls.js and dash.js, and a function for each that plays a URL to its end. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>tokengate players</title>
<script src="/hls.js"></script><script src="/dash.js"></script>
<script>
function watch(video, resolve) {
  video.muted = true;
  video.defaultPlaybackRate = 4;
  video.playbackRate = 4;
  document.body.append(video);
  video.addEventListener("ended", () =>
    resolve({ ended: true, time: video.currentTime, frames: video.getVideoPlaybackQuality().totalVideoFrames }));
}
window.playHls = (url) => new Promise((resolve) => {
  const video = document.createElement("video");
  watch(video, resolve);
  const hls = new Hls({ enableWorker: false });
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (!data.fatal) return;
    const xhr = data.networkDetails;
    resolve({ ended: false, error: data.details, status: data.response ? data.response.code : undefined,
      reason: xhr && xhr.getResponseHeader ? xhr.getResponseHeader("tokengate-reason") : null });
    hls.destroy();
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
  hls.loadSource(url);
  hls.attachMedia(video);
});
window.playDash = (url) => new Promise((resolve) => {
  const video = document.createElement("video");
  watch(video, resolve);
  const player = dashjs.MediaPlayer().create();
  player.on(dashjs.MediaPlayer.events.ERROR, (event) =>
    resolve({ ended: false, error: String(event.error && (event.error.message || event.error.code)) }));
  player.initialize(video, url, true);
});
window.statusOf = async (url) => {
  const answer = await fetch(url);
  return { status: answer.status, reason: answer.headers.get("tokengate-reason") };
};
</script>`;

/** A site on its own origin serving the page and the two players' builds. */
async function startSite() {
  const files: Record<string, [string, string]> = {
    "/": ["text/html; charset=utf-8", PAGE],
    "/hls.js": ["text/javascript", readFileSync(require.resolve("hls.js/dist/hls.min.js"), "utf8")],
    "/dash.js": ["text/javascript", readFileSync(require.resolve("dashjs"), "utf8")],
  };
  const server: Server = createServer((req, res) => {
    const file = files[req.url ?? ""];
    if (file === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": file[0] }).end(file[1]);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

interface Played {
  ended: boolean;
  time?: number;
  frames?: number;
  error?: string;
  status?: number;
  reason?: string | null;
}

let browser: Browser;
let site: Awaited<ReturnType<typeof startSite>>;
let media: ReturnType<typeof makeMedia>;
let origin: MediaOrigin;
let page: Page;
beforeAll(async () => {
  [browser, site] = await Promise.all([
    chromium.launch({
      executablePath: CHROMIUM,
      // Flags from the machine's notes: no sandbox as root, no background network (refused here).
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
      ],
    }),
    startSite(),
  ]);
  media = makeMedia();
  origin = await startMediaOrigin(media.dir);
  page = await browser.newPage();
  await page.goto(site.url);
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await origin?.close();
  media?.remove();
});

/**
 * Plays in a page of its own, closed after: players and media elements of earlier plays left
 * in one page made a later dash.js play stall now and then (more often the more plays).
 */
async function inFreshPage(player: "playHls" | "playDash", url: string): Promise<Played> {
  const fresh = await browser.newPage();
  try {
    await fresh.goto(site.url);
    return (await fresh.evaluate(
      ([name, u]) => (globalThis as any)[name](u),
      [player, url],
    )) as Played;
  } finally {
    await fresh.close();
  }
}
const playHls = (url: string) => inFreshPage("playHls", url);
const playDash = (url: string) => inFreshPage("playDash", url);
const statusOf = (url: string) =>
  page.evaluate((u) => (globalThis as any).statusOf(u), url) as Promise<{
    status: number;
    reason: string | null;
  }>;

describe.each(Object.keys(RUNTIMES))("players in Chromium, through %s", (runtime) => {
  let gate: Gate;
  let bare: Gate;
  beforeAll(async () => {
    const env = { ORIGIN_URL: origin.url, SECRET, QUERY_TOKEN_PREFIXES: "media" };
    [gate, bare] = await Promise.all([
      RUNTIMES[runtime]!({ ...env, CORS_ORIGINS: site.url }),
      RUNTIMES[runtime]!(env),
    ]);
  });
  afterAll(async () => {
    await Promise.all([gate?.close(), bare?.close()]);
  });

  it.each(STREAMS)("%s plays to its end with a directory token alone", async (stream) => {
    const expires = now + 3600;
    const md5 = signQueryToken({ path: `/media/${stream}/`, secret: SECRET, expires });
    const url = `${gate.url}/media/${stream}/${ENTRY[stream]}?md5=${md5}&expires=${expires}`;
    const played = stream === "dash" ? await playDash(url) : await playHls(url);
    expect(played).toMatchObject({ ended: true });
    expect(played.time).toBeGreaterThan(5.5);
    expect(played.frames).toBeGreaterThan(100);
  });

  it("the player reads 410 for an expired link and 403 for a tampered one, and why", async () => {
    const expired = now - 60;
    const token = (expires: number) =>
      signToken({ clientId: "2675", videoId: "hls", secret: SECRET, expires });
    const old = `${gate.url}/videos/2675_hls/${token(expired)}/${expired}/${ENTRY.hls}`;
    expect(await playHls(old)).toMatchObject({ ended: false, status: 410, reason: "expired" });
    const good = token(now + 3600);
    const wrong = (good[0] === "A" ? "B" : "A") + good.slice(1);
    const tampered = `${gate.url}/videos/2675_hls/${wrong}/${now + 3600}/${ENTRY.hls}`;
    expect(await playHls(tampered)).toMatchObject({
      ended: false,
      status: 403,
      reason: "bad-token",
    });
    expect(await statusOf(old)).toEqual({ status: 410, reason: "expired" });
  });

  it("without CORS_ORIGINS the same player sees only status 0 (why the setting exists)", async () => {
    const expired = now - 60;
    const token = signToken({ clientId: "2675", videoId: "hls", secret: SECRET, expires: expired });
    const played = await playHls(`${bare.url}/videos/2675_hls/${token}/${expired}/${ENTRY.hls}`);
    expect(played).toMatchObject({ ended: false, status: 0 });
  });
});

describe("the demo stream (npm start) from another origin", () => {
  it("plays in hls.js with CORS_ORIGINS set", async () => {
    const served = await serve({ SECRET, CORS_ORIGINS: site.url });
    try {
      const line = await served.waitFor(/Signed link/);
      const link = /(http:\/\/\S+master\.m3u8)/.exec(line)![1]!;
      const played = await playHls(link);
      expect(played).toMatchObject({ ended: true });
      expect(played.time).toBeGreaterThan(5.5);
    } finally {
      await served.stop();
    }
  });
});
