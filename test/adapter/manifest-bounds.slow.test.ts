/**
 * Outside attack: one HLS line, `#EXT-X-KEY:` and 110,000 `URI="a",` (880 KB, under the cap),
 * held an nginx worker for 152 s and grew it to 23.8 GB (njs frees nothing before a request
 * ends, and the rewrite built its result by repeated concatenation). Every manifest up to
 * MANIFEST_MAX_BYTES, whatever its shape, is rewritten by every runtime in at most 0.5 s of the
 * gate's CPU (or 3 times a plain playlist's, on a slower day) and 64 MiB more of its memory,
 * through a real gate and a real origin; the bytes
 * are those of the core's rewrite, and a manifest a player would use does get the token.
 *
 * Measured on the gate's process from /proc: CPU time (not wall-clock time, which other work
 * on the machine stretches) and the rise of resident memory over the request (its kernel-kept
 * peak, reset before each request): the nginx worker, the Node server, workerd.
 * MANIFEST_BOUNDS_VARIANTS=n runs n generated variants of each shape (default 1).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANIFEST_MAX_BYTES, propagateManifest } from "../../src/core/manifest.js";
import { signQueryToken } from "../../src/core/query-token.js";
import { get } from "../helpers/http.js";
import { nginxAvailable, startNginx } from "../helpers/nginx.js";
import { childProcesses, measure } from "../helpers/proc.js";
import { serve } from "../helpers/serve.js";
import { staticOrigin, type StaticOrigin } from "../helpers/static-origin.js";
import { startWorker } from "../helpers/worker.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

const SECRET = "bounds-secret";
const expires = Math.floor(Date.now() / 1000) + 3600;
const TOKEN = signQueryToken({ path: "/videos/v-1/", secret: SECRET, expires });
const PARAMS = `md5=${TOKEN}&expires=${expires}`;
const SETTINGS = { PREFIXES: "cmaf", QUERY_TOKEN_PREFIXES: "videos" };

/** The bounds the issue sets for one manifest. */
const MAX_CPU_SECONDS = 0.5;
/**
 * The CPU bound held to a peer of the same run, as every speed figure here is: on this shared
 * machine one day's CPU second does twice another's work. A shape may cost 0.5 s, or three times
 * a plain media playlist of the same size through the same gate (the most common manifest, whose
 * rewrite is linear), whichever is more: a quadratic rewrite (seconds, the watchdog's 8 s) still
 * fails, a slow day does not.
 */
const PLAIN_FACTOR = 3;
const MAX_GROWTH_BYTES = 64 * 2 ** 20;
/** Past these the gate is killed (a runaway would take the machine with it) and the test fails. */
const WATCHDOG = { cpu: 8, bytes: 1024 * 2 ** 20 };

/**
 * A manifest of `head`, then as many `unit(i)` as fit, then `tail`: as close under
 * MANIFEST_MAX_BYTES (in UTF-8 bytes) as the units allow.
 */
function fill(head: string, unit: (i: number) => string, tail: string): string {
  const parts = [head];
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail);
  for (let i = 0; ; i++) {
    const next = unit(i);
    const bytes = Buffer.byteLength(next);
    if (size + bytes > MANIFEST_MAX_BYTES) break;
    parts.push(next);
    size += bytes;
  }
  parts.push(tail);
  return parts.join("");
}

/** One long run of `piece`, filling the manifest between `head` and `tail`. */
function long(head: string, piece: string, tail: string): string {
  const room = MANIFEST_MAX_BYTES - Buffer.byteLength(head) - Buffer.byteLength(tail);
  return head + piece.repeat(Math.floor(room / Buffer.byteLength(piece))) + tail;
}

interface Shape {
  kind: "hls" | "dash";
  /** Whether a player would use it: then it must come out with the token. */
  player: boolean;
  /** The manifest, its names `w` characters wider than the plainest. */
  make(w: number): string;
}

const x = (w: number) => "x".repeat(w - 1);

const SHAPES: Record<string, Shape> = {
  // HLS: many attributes on one line.
  "one EXT-X-KEY line of URI attributes only (the report; over the output bound)": {
    kind: "hls",
    player: false,
    // As reported, whatever the variant: wider URIs would fit under the output bound.
    make: () => fill("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,", () => 'URI="a",', "\nseg.ts\n"),
  },
  "one EXT-X-KEY line of URI and IV attributes": {
    kind: "hls",
    player: true,
    make: (w) =>
      fill(
        "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,",
        (i) => `URI="k-${i}${x(w)}.bin",IV=0x${"0".repeat(32)},`,
        "\n#EXTINF:6,\nseg.ts\n",
      ),
  },
  "one tag line of unquoted attributes": {
    kind: "hls",
    player: true,
    make: (w) =>
      fill("#EXTM3U\n#EXT-X-MEDIA:", (i) => `A${i}=${x(w)}${i},`, 'URI="a.m3u8"\nseg.ts\n'),
  },
  "one tag line of commas": {
    kind: "hls",
    player: true,
    make: () => long("#EXTM3U\n#EXT-X-KEY:", ",", 'URI="k.bin"\n#EXTINF:6,\nseg.ts\n'),
  },
  "one EXT-X-KEY line of non-ASCII URI attributes": {
    kind: "hls",
    player: true,
    make: (w) =>
      fill(
        "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,",
        (i) => `URI="clé-${i}${x(w)}",KEYFORMAT="é${"ü".repeat(20)}",`,
        "\nseg.ts\n",
      ),
  },
  // HLS: many lines.
  "many segments": {
    kind: "hls",
    player: true,
    make: (w) =>
      fill("#EXTM3U\n#EXT-X-TARGETDURATION:6\n", (i) => `#EXTINF:6.000,\nseg-${i}${x(w)}.ts\n`, ""),
  },
  "many CRLF segments with spaces around the URI": {
    kind: "hls",
    player: true,
    make: (w) => fill("#EXTM3U\r\n", (i) => `#EXTINF:6,\r\n  seg-${i}${x(w)}.ts \r\n`, ""),
  },
  "many non-ASCII segments": {
    kind: "hls",
    player: true,
    make: (w) => fill("#EXTM3U\n", (i) => `#EXTINF:6,титр\nсегмент-${i}${x(w)}.ts\n`, ""),
  },
  "many EXT-X-PART lines": {
    kind: "hls",
    player: true,
    make: (w) =>
      fill("#EXTM3U\n", (i) => `#EXT-X-PART:DURATION=0.333,URI="part-${i}${x(w)}.m4s"\n`, ""),
  },
  "many absolute URIs (another host's, left alone)": {
    kind: "hls",
    player: true,
    make: (w) =>
      fill("#EXTM3U\nseg.ts\n", (i) => `#EXTINF:6,\nhttps://cdn.example/${i}${x(w)}.ts\n`, ""),
  },
  "one-character comment lines": {
    kind: "hls",
    player: true,
    make: () => long("#EXTM3U\n", "#\n", "seg.ts\n"),
  },
  "lines of one space": {
    kind: "hls",
    player: true,
    make: () => long("#EXTM3U\n", " \n", "seg.ts\n"),
  },
  "EXT-X- tag lines that name no URI": {
    kind: "hls",
    player: true,
    make: () => long("#EXTM3U\n", "#EXT-X-M\n", "seg.ts\n"),
  },
  "one-letter lines (over the output bound)": {
    kind: "hls",
    player: false,
    make: () => long("", "a\n", ""),
  },
  "empty lines": {
    kind: "hls",
    player: true,
    make: () => long("#EXTM3U\n", "\n", "seg.ts\n"),
  },
  // HLS: one long line.
  "one long URI line": {
    kind: "hls",
    player: true,
    make: () => long("#EXTM3U\n#EXTINF:6,\n", "s", ".ts\n"),
  },
  "one long URI attribute": {
    kind: "hls",
    player: true,
    make: () => long('#EXTM3U\n#EXT-X-MAP:URI="', "i", '.mp4"\nseg.ts\n'),
  },
  "one long comment line": {
    kind: "hls",
    player: true,
    make: () => long("#EXTM3U\n# ", "c", "\nseg.ts\n"),
  },
  // DASH.
  "many BaseURLs": {
    kind: "dash",
    player: true,
    make: (w) => fill("<MPD>\n", (i) => `<BaseURL>v${i}${x(w)}/</BaseURL>\n`, "</MPD>\n"),
  },
  "many SegmentURLs": {
    kind: "dash",
    player: true,
    make: (w) =>
      fill(
        '<MPD><Period><AdaptationSet><Representation id="v"><SegmentList>\n',
        (i) => `<SegmentURL media="seg-${i}${x(w)}.m4s"/>\n`,
        "</SegmentList></Representation></AdaptationSet></Period></MPD>\n",
      ),
  },
  "many SegmentURLs with &amp; queries": {
    kind: "dash",
    player: true,
    make: (w) =>
      fill(
        "<MPD><SegmentList>\n",
        (i) => `<SegmentURL media="s.m4s?n=${i}${x(w)}&amp;v=2"/>\n`,
        "</SegmentList></MPD>\n",
      ),
  },
  "many non-ASCII SegmentURLs": {
    kind: "dash",
    player: true,
    make: (w) =>
      fill("<MPD><SegmentList>\n", (i) => `<SegmentURL media="сег-${i}${x(w)}.m4s"/>\n`, "</MPD>"),
  },
  "deep nesting": {
    kind: "dash",
    player: true,
    make: (w) => {
      const name = `Period${x(w)}`;
      const depth = Math.floor((MANIFEST_MAX_BYTES - 100) / (2 * name.length + 5));
      return (
        `<MPD>${`<${name}>`.repeat(depth)}<SegmentTemplate media="s-$Number$.m4s"/>` +
        `${`</${name}>`.repeat(depth)}</MPD>`
      );
    },
  },
  "many comments": {
    kind: "dash",
    player: true,
    make: (w) =>
      fill(
        "<MPD>",
        (i) => `<!-- media="c-${i}${x(w)}" -->`,
        '<SegmentTemplate media="s-$Number$.m4s"/></MPD>',
      ),
  },
  "many CDATA sections and processing instructions": {
    kind: "dash",
    player: true,
    make: (w) =>
      fill(
        "<MPD>",
        (i) => `<![CDATA[${i}${x(w)}]]><?pi ${i}?>`,
        '<SegmentTemplate media="s-$Number$.m4s"/></MPD>',
      ),
  },
  "many Representations with $RepresentationID$": {
    kind: "dash",
    player: true,
    make: (w) =>
      fill(
        "<MPD><Period><AdaptationSet>\n",
        (i) =>
          `<Representation id="r${i}${x(w)}"><SegmentTemplate media="$RepresentationID$/$Number$.m4s"/></Representation>\n`,
        "</AdaptationSet></Period></MPD>\n",
      ),
  },
  "one long media attribute": {
    kind: "dash",
    player: true,
    make: () => long('<MPD><SegmentTemplate media="', "m", '.m4s"/></MPD>'),
  },
  "one long media attribute of &amp;": {
    kind: "dash",
    player: true,
    make: () => long('<MPD><SegmentTemplate media="s.m4s?', "a=1&amp;", 'b=2"/></MPD>'),
  },
  "one long BaseURL": {
    kind: "dash",
    player: true,
    make: () => long("<MPD><BaseURL>", "b", '/</BaseURL><SegmentTemplate media="s.m4s"/></MPD>'),
  },
};

/** Name widths for the variants: 1 (the plainest), then generated ones. */
const VARIANTS = Math.max(1, Number(process.env.MANIFEST_BOUNDS_VARIANTS ?? 1));
const WIDTHS = [1, ...fc.sample(fc.integer({ min: 2, max: 40 }), { numRuns: VARIANTS - 1 })];

const CASES = Object.entries(SHAPES).flatMap(([name, shape]) =>
  WIDTHS.map((w) => ({ name: w === 1 ? name : `${name} (names ${w} wider)`, shape, w })),
);

/** The cases with their names first, for whole names in the tests' titles. */
const TITLED = CASES.map((c) => [c.name, c] as const);

/** Each case's manifest and what the core makes of it, made once for every runtime. */
const made = new Map<string, { bytes: Buffer; want: Buffer; rewritten: boolean }>();
function manifestOf(name: string, shape: Shape, w: number) {
  let entry = made.get(name);
  if (entry === undefined) {
    const bytes = Buffer.from(shape.make(w));
    const expected = propagateManifest(bytes, shape.kind, PARAMS);
    const want = "text" in expected ? Buffer.from(expected.text) : bytes;
    entry = { bytes, want, rewritten: "text" in expected };
    made.set(name, entry);
  }
  return entry;
}

interface Gate {
  url: string;
  /** The process that rewrites: nginx's worker, the Node server, workerd. */
  pid(): number;
  /**
   * A process that has served nothing yet, where one can be had cheaply (nginx: a reload's new
   * worker), so what a request costs is not hidden in memory an earlier one left the allocator.
   */
  fresh?(): Promise<void>;
  close(): Promise<unknown>;
}

const runtimes: Record<string, (origin: string) => Promise<Gate>> = {
  "the Node server": async (origin) => {
    const served = await serve({ ORIGIN_URL: origin, SECRET, ...SETTINGS });
    return { url: served.url, pid: () => served.proc.pid!, close: served.stop };
  },
  "the Worker in workerd": async (origin) => {
    const before = new Set(childProcesses(process.pid).map((p) => p.pid));
    const worker = await startWorker({ ORIGIN_URL: origin, SECRET, ...SETTINGS });
    const workerd = childProcesses(process.pid).filter(
      (p) => p.name === "workerd" && !before.has(p.pid),
    );
    if (workerd.length !== 1) throw new Error(`cannot tell workerd's process: ${workerd.length}`);
    return { url: worker.url, pid: () => workerd[0]!.pid, close: worker.close };
  },
};
if (nginxAvailable()) {
  runtimes["nginx with the njs module"] = async (origin) => {
    const nginx = await startNginx({ ORIGIN_URL: origin, SECRET, ...SETTINGS });
    const master = Number(readFileSync(join(nginx.dir, "run", "nginx.pid"), "utf8"));
    const workers = () => childProcesses(master).filter((p) => p.name === "nginx");
    return {
      url: nginx.url,
      // Asked each time: the master starts a new worker after a reload or the watchdog.
      pid: () => {
        const found = workers();
        if (found.length !== 1) throw new Error(`nginx has ${found.length} workers`);
        return found[0]!.pid;
      },
      async fresh() {
        const old = workers().map((p) => p.pid);
        process.kill(master, "SIGHUP");
        const deadline = Date.now() + 10_000;
        for (;;) {
          const now = workers();
          if (now.length === 1 && !old.includes(now[0]!.pid)) return;
          if (Date.now() > deadline) throw new Error("nginx did not start a new worker");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
      close: nginx.close,
    };
  };
}

describe.each(Object.keys(runtimes))(
  "manifests up to the cap, any shape, through %s",
  (runtime) => {
    let origin: StaticOrigin;
    let gate: Gate;
    const figures: string[] = [];
    /** The CPU seconds of a plain playlist of the cap's size through this gate, this run. */
    let plain = 0;
    beforeAll(async () => {
      origin = await staticOrigin();
      gate = await runtimes[runtime]!(origin.url);
    });
    afterAll(async () => {
      await gate?.close();
      await origin?.close();
      if (process.env.MANIFEST_BOUNDS_REPORT) console.info(`${runtime}:\n${figures.join("\n")}`);
    });

    it("rewrites a plain media playlist of the cap's size (the pace the bound is held to)", async () => {
      const bytes = Buffer.from(
        fill("#EXTM3U\n#EXT-X-TARGETDURATION:4\n", (i) => `#EXTINF:4.000,\nseg-${i}.ts\n`, ""),
      );
      origin.files.set("/videos/v-1/plain.m3u8", {
        type: "application/vnd.apple.mpegurl",
        body: bytes,
      });
      await gate.fresh?.();
      const spent = await measure(
        gate.pid(),
        () =>
          get(`${gate.url}/videos/v-1/plain.m3u8?${PARAMS}`, {
            headers: { connection: "close" },
            timeoutMs: 60_000,
          }).catch((e: Error) => e),
        WATCHDOG,
      );
      expect(spent.killed, "killed by the watchdog").toBeUndefined();
      const res = spent.result;
      if (res instanceof Error) throw res;
      expect(res.status).toBe(200);
      const want = propagateManifest(bytes, "hls", PARAMS);
      expect("text" in want && res.body.equals(Buffer.from(want.text))).toBe(true);
      plain = spent.cpu;
      figures.push(`  plain playlist: ${spent.cpu.toFixed(2)} s CPU`);
    });

    it.each(TITLED)(
      "rewrites %s within 0.5 s of CPU (or 3 × a plain playlist's) and 64 MiB",
      async (_title, { name, shape, w }) => {
        const { bytes, want, rewritten } = manifestOf(name, shape, w);
        expect(bytes.length).toBeLessThanOrEqual(MANIFEST_MAX_BYTES);
        expect(bytes.length).toBeGreaterThan(MANIFEST_MAX_BYTES - 4096);
        // A manifest a player would use must carry the token on; the others pass unchanged.
        expect(rewritten, "the core's verdict").toBe(shape.player);
        const file = `/videos/v-1/bounds.${shape.kind === "hls" ? "m3u8" : "mpd"}`;
        origin.files.set(file, {
          type: shape.kind === "hls" ? "application/vnd.apple.mpegurl" : "application/dash+xml",
          body: bytes,
        });
        await gate.fresh?.();
        const spent = await measure(
          gate.pid(),
          () =>
            get(`${gate.url}${file}?${PARAMS}`, {
              // No connection left to a worker that a reload retires.
              headers: { connection: "close" },
              timeoutMs: 60_000,
            }).catch((e: Error) => e),
          WATCHDOG,
        );
        figures.push(
          `  ${name}: ${spent.seconds.toFixed(3)} s, ${spent.cpu.toFixed(2)} s CPU, ` +
            `+${(spent.grew / 2 ** 20).toFixed(1)} MiB`,
        );
        expect(spent.killed, "killed by the watchdog").toBeUndefined();
        const res = spent.result;
        if (res instanceof Error) throw res;
        expect(res.status).toBe(200);
        // Compared as bytes, not printed: a megabyte of difference says nothing.
        expect(res.body.length, "the body's length").toBe(want.length);
        expect(res.body.equals(want), "the body is the core's rewrite").toBe(true);
        expect(plain, "the plain playlist was measured first").toBeGreaterThan(0);
        expect(
          spent.cpu,
          `CPU seconds (a plain playlist: ${plain.toFixed(2)} s)`,
        ).toBeLessThanOrEqual(Math.max(MAX_CPU_SECONDS, PLAIN_FACTOR * plain));
        expect(spent.grew, "memory growth, bytes").toBeLessThanOrEqual(MAX_GROWTH_BYTES);
      },
      120_000,
    );
  },
);

/** The built core, as the Node server and the Worker bundle run it. */
const CORE = pathToFileURL(join(process.cwd(), "dist/core/manifest.js")).href;

/**
 * The rewrite alone in a V8 isolate of its own (Node's and workerd's engine) whose heap may not
 * pass 64 MiB: V8 ends it if the rewrite needs more. A long-lived server's memory says less
 * (its heap has room left by earlier requests), and workerd cannot be measured per request.
 */
describe("the core's rewrite in a fresh V8 isolate of 64 MiB", () => {
  it.each(TITLED)(
    "rewrites %s",
    async (_title, { name, shape, w }) => {
      const { bytes, want } = manifestOf(name, shape, w);
      const worker = new Worker(
        `const { workerData, parentPort } = require("node:worker_threads");
        const v8 = require("node:v8");
        import(workerData.core).then(({ propagateManifest }) => {
          const before = v8.getHeapStatistics().total_heap_size;
          const started = performance.now();
          const result = propagateManifest(workerData.bytes, workerData.kind, workerData.params);
          const seconds = (performance.now() - started) / 1000;
          const heap = v8.getHeapStatistics().total_heap_size;
          parentPort.postMessage({ result, seconds, grew: heap - before, heap });
        });`,
        {
          eval: true,
          workerData: { core: CORE, bytes, kind: shape.kind, params: PARAMS },
          resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 16 },
        },
      );
      const outcome = await new Promise<
        { result: { text?: string }; seconds: number; grew: number; heap: number } | Error
      >((resolve) => {
        worker.once("message", resolve);
        worker.once("error", resolve);
      });
      await worker.terminate();
      if (outcome instanceof Error) throw outcome;
      if (process.env.MANIFEST_BOUNDS_REPORT) {
        console.info(
          `V8 ${name}: ${outcome.seconds.toFixed(3)} s, heap +${(outcome.grew / 2 ** 20).toFixed(1)} MiB ` +
            `(${(outcome.heap / 2 ** 20).toFixed(1)} MiB)`,
        );
      }
      const got = outcome.result.text === undefined ? bytes : Buffer.from(outcome.result.text);
      expect(got.equals(want), "the same rewrite").toBe(true);
      expect(outcome.heap, "the isolate's heap, bytes").toBeLessThanOrEqual(MAX_GROWTH_BYTES);
    },
    60_000,
  );
});
