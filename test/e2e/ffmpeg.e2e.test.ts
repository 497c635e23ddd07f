/**
 * Players through the gate, item 4 of the link forms (manifest propagation) proven with a real
 * player: ffmpeg opens an HLS master playlist (AES-128 segments, the key fetched like one), an
 * fMP4 HLS playlist (`EXT-X-MAP`) and a DASH manifest with a directory token only, and decodes
 * every frame, on both runtimes; the same with a stream link. The control: a file token opens
 * the playlist but not what it names, and ffmpeg then decodes nothing, so a pass means the
 * token went on to every segment. Needs ffmpeg (`.ci/run` installs Debian's).
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQueryToken } from "../../src/core/query-token.js";
import { signToken } from "../../src/core/token.js";
import { get } from "../helpers/http.js";
import { RUNTIMES, type Gate } from "../helpers/runtimes.js";
import { ENTRY, FRAMES, makeMedia, startMediaOrigin, STREAMS, type MediaOrigin } from "./media.js";

const SECRET = "player-secret";
const expires = Math.floor(Date.now() / 1000) + 3600;

/** Plays `url` to the end with ffmpeg, decoding the first video stream; frames decoded. */
function play(url: string): Promise<{ code: number | null; frames: number; errors: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "ffmpeg",
      [
        ...["-nostdin", "-hide_banner", "-loglevel", "error", "-rw_timeout", "10000000"],
        ...["-i", url, "-map", "0:v:0", "-f", "null", "-", "-progress", "pipe:1"],
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let progress = "";
    let errors = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (progress += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (errors += text));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      const frames = [...progress.matchAll(/^frame=(\d+)$/gm)].at(-1)?.[1];
      resolve({ code, frames: Number(frames ?? 0), errors });
    });
  });
}

/** ffmpeg's messages without what differs between runs: addresses, hosts, queries. */
const comparable = (errors: string) =>
  errors
    .replace(/ @ 0x[0-9a-f]+/g, "")
    .replace(/http:\/\/[^/\s]+/g, "")
    .replace(/\?[^\s:']*/g, "");

const directoryQuery = (stream: string) =>
  `md5=${signQueryToken({ path: `/media/${stream}/`, secret: SECRET, expires })}&expires=${expires}`;

describe.each(Object.keys(RUNTIMES))("ffmpeg plays through %s", (runtime) => {
  let media: ReturnType<typeof makeMedia>;
  let origin: MediaOrigin;
  let gate: Gate;
  beforeAll(async () => {
    media = makeMedia();
    origin = await startMediaOrigin(media.dir);
    gate = await RUNTIMES[runtime]!({
      ORIGIN_URL: origin.url,
      SECRET,
      QUERY_TOKEN_PREFIXES: "media",
    });
  });
  afterAll(async () => {
    await gate?.close();
    await origin?.close();
    media?.remove();
  });

  it.each(STREAMS)(
    "%s with a directory token: every frame, every file fetched through the gate, no token at the origin",
    async (stream) => {
      // ffmpeg 5.1's DASH reader asks for one segment past the end and reports the 404, so the
      // player's own run straight from the origin is the yardstick, its messages included.
      const direct = await play(`${origin.url}/media/${stream}/${ENTRY[stream]}`);
      expect([direct.code, direct.frames]).toEqual([0, FRAMES]);
      const before = origin.seen.length;
      const result = await play(
        `${gate.url}/media/${stream}/${ENTRY[stream]}?${directoryQuery(stream)}`,
      );
      expect([result.code, result.frames]).toEqual([0, FRAMES]);
      expect(comparable(result.errors)).toBe(comparable(direct.errors));
      const fetched = origin.seen.slice(before);
      expect(fetched.filter((url) => /md5|expires/.test(url))).toEqual([]);
      const expected = {
        hls: ["master.m3u8", "180p.m3u8", "key.bin", "180p-0.ts", "180p-1.ts", "180p-2.ts"],
        fmp4: ["index.m3u8", "init.mp4", "seg-0.m4s", "seg-1.m4s", "seg-2.m4s"],
        dash: ["manifest.mpd", "init-0.m4s", "chunk-0-00001.m4s", "chunk-0-00003.m4s"],
      }[stream];
      for (const file of expected) expect(fetched).toContain(`/media/${stream}/${file}`);
      // And each of those files needs the token: without it, the gate refuses.
      const bare = await get(`${gate.url}/media/${stream}/${expected.at(-1)}`);
      expect(bare.status).toBe(403);
    },
  );

  it.each(STREAMS)(
    "%s with a file token for the playlist alone: the player gets no segment (the control)",
    async (stream) => {
      const entry = `/media/${stream}/${ENTRY[stream]}`;
      const md5 = signQueryToken({ path: entry, secret: SECRET, expires });
      const before = origin.seen.length;
      const result = await play(`${gate.url}${entry}?md5=${md5}&expires=${expires}`);
      expect(result.frames).toBe(0);
      expect(origin.seen.slice(before)).toEqual([entry]);
    },
  );

  it.each(STREAMS)("%s with a stream link (the token in the path)", async (stream) => {
    const token = signToken({ clientId: "2675", videoId: stream, secret: SECRET, expires });
    const result = await play(
      `${gate.url}/videos/2675_${stream}/${token}/${expires}/${ENTRY[stream]}`,
    );
    expect([result.code, result.frames]).toEqual([0, FRAMES]);
    const direct = await play(`${origin.url}/videos/2675_${stream}/${ENTRY[stream]}`);
    expect(comparable(result.errors).replace(/\/[\w-]{22}\/\d+\//g, "/")).toBe(
      comparable(direct.errors),
    );
  });
});
