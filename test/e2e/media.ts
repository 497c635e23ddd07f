/**
 * Media for the player tests, made with ffmpeg when the suite starts (nothing binary is
 * committed): 6 s of test pattern and tone, 25 frames a second, as
 * - `hls/`: a master playlist, a media playlist and AES-128 encrypted MPEG-TS segments whose key
 *   (`EXT-X-KEY` `URI="key.bin"`) is fetched like a segment;
 * - `fmp4/`: an HLS playlist of fragmented MP4 segments behind `EXT-X-MAP` `URI="init.mp4"`;
 * - `dash/`: a DASH manifest, a video and an audio representation, `SegmentTemplate`
 *   `initialization` and `media`.
 * Every file sits in one folder per stream, so one directory token covers a whole stream.
 * The origin serves them at `/<any prefix>/<any folder ending in the stream's name>/<file>`.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { answerFor } from "../helpers/http-semantics.js";
import { headerValue } from "../helpers/origin.js";

export const FRAMES = 150;
export const STREAMS = ["hls", "fmp4", "dash"] as const;
export type Stream = (typeof STREAMS)[number];
/** The file a player opens first, per stream. */
export const ENTRY: Record<Stream, string> = {
  hls: "master.m3u8",
  fmp4: "index.m3u8",
  dash: "manifest.mpd",
};

const SOURCE = [
  ...["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6"],
  ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=6"],
  ...["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p"],
  ...["-g", "50", "-keyint_min", "50", "-sc_threshold", "0"],
  ...["-c:a", "aac", "-b:a", "64k", "-ac", "1"],
];

function ffmpeg(args: string[], cwd: string): void {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...SOURCE, ...args], {
    cwd,
    stdio: ["ignore", "ignore", "pipe"],
  });
}

/** Makes the three streams in a new temporary folder; `remove()` deletes it. */
export function makeMedia(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "tokengate-media-"));
  for (const stream of STREAMS) mkdirSync(join(dir, stream));
  writeFileSync(join(dir, "hls", "key.bin"), randomBytes(16));
  writeFileSync(join(dir, "keyinfo"), "key.bin\nhls/key.bin\n");
  ffmpeg(
    [
      ...["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"],
      ...["-hls_key_info_file", "keyinfo", "-hls_segment_filename", "hls/180p-%d.ts"],
      "hls/180p.m3u8",
    ],
    dir,
  );
  writeFileSync(
    join(dir, "hls", "master.m3u8"),
    '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=320x180,CODECS="avc1.4d400c,mp4a.40.2"\n180p.m3u8\n',
  );
  ffmpeg(
    [
      ...["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"],
      ...["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4"],
      ...["-hls_segment_filename", "fmp4/seg-%d.m4s", "fmp4/index.m3u8"],
    ],
    dir,
  );
  ffmpeg(
    [
      ...["-f", "dash", "-seg_duration", "2", "-use_template", "1", "-use_timeline", "0"],
      ...["-init_seg_name", "init-$RepresentationID$.m4s"],
      ...["-media_seg_name", "chunk-$RepresentationID$-$Number%05d$.m4s", "dash/manifest.mpd"],
    ],
    dir,
  );
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const TYPES: Record<string, string> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".mpd": "application/dash+xml",
  ".ts": "video/mp2t",
  ".m4s": "video/iso.segment",
  ".mp4": "video/mp4",
  ".bin": "application/octet-stream",
};

export interface MediaOrigin {
  url: string;
  /** Every request's path and query, as the origin saw it. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * Serves `dir`: `/<prefix>/<folder>/<file>` is `<dir>/<stream>/<file>` for the stream the
 * folder's name ends with (`/media/hls/…`, `/videos/2675_dash/…`), answered as nginx answers a
 * static file (ETag, Last-Modified, Range 206/416, If-Range, conditional 304): ffmpeg asks for
 * every playlist with `Range: bytes=0-`. A query is ignored: the test reads `seen` to prove
 * none carried a token.
 */
export async function startMediaOrigin(dir: string): Promise<MediaOrigin> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? "");
    const match = /^\/[^/]+\/[^/]*?(hls|fmp4|dash)\/([\w.-]+)$/.exec(
      (req.url ?? "").split("?")[0]!,
    );
    let body: Buffer | undefined;
    let mtime = 0;
    try {
      const file = match ? join(dir, match[1]!, match[2]!) : undefined;
      body = file === undefined ? undefined : readFileSync(file);
      if (file !== undefined) mtime = Math.floor(statSync(file).mtimeMs / 1000);
    } catch {
      body = undefined;
    }
    if (body === undefined) {
      res.writeHead(404, { "content-length": "0" });
      return void res.end();
    }
    // nginx's ETag: last modification and length, in hex.
    const answer = answerFor(req.method ?? "GET", (name) => headerValue(req, name), {
      body,
      etag: `"${mtime.toString(16)}-${body.length.toString(16)}"`,
      lastModified: new Date(mtime * 1000).toUTCString(),
      headers: { "content-type": TYPES[extname(match![2]!)] ?? "application/octet-stream" },
    });
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
