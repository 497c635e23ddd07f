/**
 * The `--help` texts of `tokengate` and its commands; the options of `serve` and
 * `nginx-config` come from the settings table.
 * @module
 */
import { NGINX_FLAGS, SETTINGS, type Command, type SettingSpec } from "../core/settings-table.js";

/** Where an option's words start, and how wide the text may run. */
const WORDS_AT = 45;
const WIDTH = 93;

/**
 * A command's options, one per setting that has a flag for it: the flag, the variable it
 * overrides, the help words wrapped under each other, and the default in brackets.
 *
 * @example
 * ```ts
 * optionLines(Object.values(SETTINGS), "serve"); // "  --origin-url URL        ORIGIN_URL …\n…"
 * ```
 */
export function optionLines(specs: readonly SettingSpec[], command: Command): string {
  let text = "";
  for (const spec of specs) {
    if (spec.flag === undefined || !spec.commands.includes(command)) continue;
    const nginx = command === "nginx-config";
    const env = spec.file === true && nginx ? (spec.fileEnv ?? `${spec.env}_FILE`) : spec.fileEnv;
    const head = `  --${spec.flag}${spec.arg === undefined ? "" : ` ${spec.arg}`}`;
    const named = `${head.padEnd(25)} ${env ?? spec.env ?? ""}`.trimEnd();
    const words = (nginx ? (spec.nginxHelp ?? spec.help) : spec.help).split(" ");
    // A default the words do not already give ("[…]" at their end) is shown after them.
    if (spec.default !== "" && !/\]$/.test(words[words.length - 1]!)) {
      words.push(`[${spec.default}]`);
    }
    let line = named.length + 1 > WORDS_AT ? `${named} ` : named.padEnd(WORDS_AT);
    let fresh = true;
    for (const word of words) {
      if (!fresh && line.length + 1 + word.length > WIDTH) {
        text += `${line}\n`;
        line = " ".repeat(WORDS_AT);
        fresh = true;
      }
      line += fresh ? word : ` ${word}`;
      fresh = false;
    }
    text += `${line}\n`;
  }
  return text;
}

export const HELP = {
  main: `tokengate: verify Gcore-style protected temporary links in front of a video origin

Usage:
  tokengate serve [options]     run the gate on Node (demo mode without ORIGIN_URL)
  tokengate sign [options]      print a signed link
  tokengate check <url>         say whether the gate would serve a link, and why
  tokengate nginx-config [options]  print an nginx.conf that runs the gate inside nginx
  tokengate secret              print a new random secret (tokengate secret > secret)
  tokengate <command> --help    options of a command

Exit codes: 0 ok, 1 the link would be refused, 2 usage or configuration error.
`,
  serve: `Usage: tokengate serve [options]

Runs the gate on Node. Each option overrides the environment variable named beside it.
Without ORIGIN_URL it runs in demo mode: a bundled HLS sample as the origin, a generated
secret (unless SECRET is set), and a ready signed link printed at start.

${optionLines(Object.values(SETTINGS), "serve")}  -h, --help
`,
  nginxConfig: `Usage: tokengate nginx-config --origin-url URL --secret-file PATH [options] > nginx.conf

Prints a complete nginx.conf that runs the gate inside nginx: nginx itself checks and proxies
a plain stream link whose token is right under SECRET's first secret (secure_link); the njs
module shipped in this package decides every other request exactly as \`serve\` does. Run it
with \`nginx -c "$PWD/nginx.conf"\` (Debian: nginx and libnginx-mod-http-js). Settings are
checked as \`serve\` checks them; each option overrides the environment variable named beside
it. The secret never appears in the config: this command copies SECRET into --prefix (0600
files nginx's master reads as root at start and reload), so a secret file only root can read
works. To rotate, edit SECRET's file, run this command again and \`nginx -s reload\`.

${optionLines([...Object.values(SETTINGS), ...Object.values(NGINX_FLAGS)], "nginx-config")}  -h, --help
`,
  sign: `Usage: tokengate sign --client ID --video ID [options]

Prints a protected link. The secret comes from --secret-file or the SECRET environment
variable; there is deliberately no --secret flag (shell history, ps).

  --client ID          client id (no '_')
  --video ID           video id
  --kind KIND          first path segment [videos]
  --ttl TTL            lifetime: 90s, 15m, 24h, 7d [24h]
  --expires SECONDS    absolute expiry in unix seconds (instead of --ttl); one not in the
                       future is refused unless --force
  --force              sign even a link that would be expired (--expires in the past)
  --file PATH          file under the video [master.m3u8]
  --base URL           gate URL to prefix, e.g. https://cdn.example.com
  --secret-file PATH   file holding the secret (or several, as SECRET takes them)
  --client-secrets-file PATH  per-client secrets, as serve takes them (or CLIENT_SECRETS)
  --ip ADDRESS         bind the token to this client address (BIND_IP)
  --path PATH          sign a CDN secure token for PATH instead (a file, or a directory
                       ending in /): prints PATH?md5=…&expires=…
  --mp4                sign an MP4 advanced link for --file (ending in .mp4)
  --speed RATE         with --mp4: speed after the buffer, e.g. 1000k
  --buffer SIZE        with --mp4: bytes sent at full speed first, e.g. 2000k
  -h, --help
`,
  secret: `Usage: tokengate secret

Prints a new random secret: 32 random bytes as 64 hex characters. Keep it in a file readable
by the gate only (tokengate secret > /etc/tokengate/secret; openssl rand -hex 32 does the
same), and give it to the gate with --secret-file, or to a Worker with wrangler secret put.
`,
  check: `Usage: tokengate check <url> [options]

Says in one line what the gate would answer for a link (200, 403 or 410) and why. With no
secret (--secret-file or SECRET) it can only check the link's shape and shows its parts.

  --secret-file PATH   file holding the secret
  --client-secrets-file PATH  per-client secrets, as serve takes them (or CLIENT_SECRETS)
  --prefixes LIST      guarded first path segments [PREFIXES or videos,cmaf,mpegts]
  --ip ADDRESS         the client address the gate would see, for an IP-bound link
  --bind-ip MODE       off, on or optional, as the gate is set [BIND_IP; optional with --ip]
  --query-token-prefixes LIST  paths with CDN secure tokens [QUERY_TOKEN_PREFIXES]
  --mp4-tokens on|off  MP4 advanced links [MP4_TOKENS or off]
  --now SECONDS        judge as of this unix time instead of now
  -h, --help
`,
};
