/** The `--help` texts of `tokengate` and its commands. @module */
export const HELP = {
  main: `tokengate: verify Gcore-style protected temporary links in front of a video origin

Usage:
  tokengate serve [options]     run the gate on Node (demo mode without ORIGIN_URL)
  tokengate sign [options]      print a signed link
  tokengate check <url>         say whether the gate would serve a link, and why
  tokengate nginx-config [options]  print an nginx.conf that runs the gate inside nginx
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
  --prefixes LIST         PREFIXES           guarded first path segments [videos,cmaf,mpegts]
  --host HOST             HOST               address to listen on [127.0.0.1]
  --port N                PORT               port to listen on, 0 = any free one [8787]
  --workers N|auto        WORKERS            processes; auto = one per core [1]
  --listen-sockets N|auto LISTEN_SOCKETS     sockets listening on the port (SO_REUSEPORT) in
                                             one process; auto = 64 where Node 22.12+ on
                                             Linux allows it, else 1 [auto]
  --origin-timeout-ms N   ORIGIN_TIMEOUT_MS  time to origin response headers (then 504) and
                                             most quiet between body reads (then cut) [30000]
  --client-timeout-ms N   CLIENT_TIMEOUT_MS  longest a client may take no bytes of an answer
                                             before it is cut, its origin request ended;
                                             0 = none [60000]
  --request-timeout-ms N  REQUEST_TIMEOUT_MS longest a client may take to send a request
                                             (head and any body); then 408, closed [60000]
  --keepalive-timeout-ms N KEEPALIVE_TIMEOUT_MS longest an idle kept-alive connection
                                             stays open [65000]
  --max-connections N     MAX_CONNECTIONS    most client connections one process holds; one
                                             more is closed at once; 0 = no limit [10000]
  --origin-connections N  ORIGIN_CONNECTIONS most connections open to the origin at once;
                                             further requests wait for one [512]
  --requests-per-client N REQUESTS_PER_CLIENT most granted requests one client address
                                             may have in flight (per process); one more
                                             is 503; 0 = no limit [ORIGIN_CONNECTIONS/8, 1-8]
  --origin-keepalive on|off ORIGIN_KEEPALIVE reuse origin connections; off for an origin
                                             that may send bytes after a response [on]
  --log-format FORMAT     LOG_FORMAT         json or pretty [json]
  --bind-ip off|on|optional BIND_IP          tokens bound to the client's address: off, on
                                             (only bound ones), optional (either) [off]
  --trust-proxy CIDRS     TRUST_PROXY        proxies whose X-Forwarded-For names the client
                                             (comma-separated CIDRs) [none: the peer]
  --query-token-prefixes LIST QUERY_TOKEN_PREFIXES first path segments whose files carry a
                                             CDN token (?md5=&expires=), or * [none]
  --mp4-tokens on|off     MP4_TOKENS         MP4 advanced links under PREFIXES [off]
  --cors-origins LIST     CORS_ORIGINS       origins whose players may read answers, 403/410
                                             included: * or a comma list [none: no CORS]
  --forward-headers LIST  FORWARD_HEADERS    request headers the origin gets besides Range,
                                             If-*, Accept*, User-Agent, Referer, Origin [none]
  --expiry-leeway-s N     EXPIRY_LEEWAY_S    seconds a link stays valid past expires [0]
  --metrics on|off        METRICS            GET /metrics, Prometheus text format [on]
  --metrics-listen ADDR   METRICS_LISTEN     host:port where /metrics is served, never the
                                             public port; off = no metrics [127.0.0.1:9464]
  --cache on|off          CACHE              a shared cache of origin answers, keyed without
                                             the token [off]
  --cache-max-bytes SIZE  CACHE_MAX_BYTES    memory it may hold (e.g. 1g) [256m]
  --cache-default-ttl-s N CACHE_DEFAULT_TTL_S most freshness a Last-Modified heuristic gives [60]
  --cache-key-query all|none|LIST CACHE_KEY_QUERY query parameters in the cache key (the
                                             origin still gets the whole query) [none]
  --client-secrets-file PATH CLIENT_SECRETS_FILE JSON { "<client id>": "<secret> [<old>]" }:
                                             per-client secrets; unlisted clients get 403
  -h, --help
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

  --origin-url URL        ORIGIN_URL         origin base URL (http or https; its host is
                                             resolved once, when nginx starts)
  --secret-file PATH      SECRET_FILE        file holding the secret(s), as for serve
  --client-secrets-file PATH CLIENT_SECRETS_FILE per-client secrets (JSON), loaded by nginx
                                             at start and reload
  --prefixes LIST         PREFIXES           guarded first path segments [videos,cmaf,mpegts]
  --listen HOST:PORT                         where nginx listens [127.0.0.1:8787]
  --workers N|auto        WORKERS            nginx worker processes [auto]
  --prefix DIR                               folder for pid, logs and temporary files, made
                                             if missing [./tokengate-nginx]
  --js-module PATH|none                      load_module path of ngx_http_js_module, none
                                             when built in [${"/usr/lib/nginx/modules/ngx_http_js_module.so"}]
  --cache-dir DIR                            turn on nginx's proxy_cache there, keyed by the
                                             origin path without the token [off]
  --cache-max-bytes SIZE  CACHE_MAX_BYTES    most the cache keeps on disk [256m]
  --cache-key-query all|none|LIST CACHE_KEY_QUERY query parameters in the cache key (the
                                             origin still gets the whole query) [none]
  --origin-timeout-ms N   ORIGIN_TIMEOUT_MS  to connect, and most quiet between origin reads
                                             (then 504) [30000]
  --client-timeout-ms N   CLIENT_TIMEOUT_MS  most quiet while a client sends its request or
                                             takes the answer (then cut) [60000]
  --keepalive-timeout-ms N KEEPALIVE_TIMEOUT_MS idle kept-alive client connections [65000]
  --origin-connections N  ORIGIN_CONNECTIONS idle origin connections each worker keeps
                                             (up to 1024) [512]
  --requests-per-client N REQUESTS_PER_CLIENT most granted requests one client address
                                             may have in flight (limit_conn); one more is
                                             503; 0 = no limit [ORIGIN_CONNECTIONS/8, 1-8]
  --bind-ip off|on|optional BIND_IP          tokens bound to the client's address [off]
  --query-token-prefixes LIST QUERY_TOKEN_PREFIXES first path segments whose files carry a
                                             CDN token (?md5=&expires=), or * [none]
  --mp4-tokens on|off     MP4_TOKENS         MP4 advanced links (speed and buffer become
                                             nginx's limit_rate and limit_rate_after) [off]
  --cors-origins LIST     CORS_ORIGINS       origins whose players may read answers [none]
  --forward-headers LIST  FORWARD_HEADERS    request headers the origin gets besides Range,
                                             If-*, Accept*, User-Agent, Referer, Origin [none]
  --expiry-leeway-s N     EXPIRY_LEEWAY_S    seconds a link stays valid past expires [0]
  --trust-proxy CIDRS     TRUST_PROXY        proxies whose X-Forwarded-For names the client
                                             (read as serve reads it) [none: the peer]
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
  check: `Usage: tokengate check <url> [options]

Says in one line what the gate would answer for a link (200, 403 or 410) and why. With no
secret (--secret-file or SECRET) it can only check the link's shape and shows its parts.

  --secret-file PATH   file holding the secret
  --prefixes LIST      guarded first path segments [PREFIXES or videos,cmaf,mpegts]
  --now SECONDS        judge as of this unix time instead of now
  -h, --help
`,
};
