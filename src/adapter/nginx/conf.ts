/**
 * The `nginx.conf` that runs tokengate inside nginx: nginx decides the common link itself
 * (`secure_link`, `map`s held to `decide()` by tests), the njs module (`src/adapter/nginx/index.ts`)
 * the rest; nginx answers refusals and streams grants from the origin.
 * Printed by `tokengate nginx-config`; a pure function of checked settings.
 * @module
 */
import { FORWARDED, NEVER_RETURNED, plainLocationRules } from "../../http/headers.js";
import { rejection } from "../../http/refusal.js";
import { corsHeaders, type CorsOrigins } from "../../http/cors.js";
import type { Settings } from "../../core/settings.js";
import type { ServerConfig } from "../../core/settings.js";
import { parseAddressRangeList } from "../../core/ip.js";
import {
  CLIENT_SECRETS_FILE,
  CLIENT_SECRETS_OBJECT,
  SECRET_CONF_FILE,
  SECRETS_FILE,
  SECRETS_OBJECT,
  SETTINGS_FILE,
  SETTINGS_OBJECT,
  type ModuleSettings,
} from "./settings.js";

/** Where Debian's `libnginx-mod-http-js` puts the module. */
export const DEBIAN_JS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so";

/** What {@link nginxConf} prints a config for. */
export interface NginxConfOptions {
  /** The gate's settings as `serve` reads them. */
  settings: Settings;
  /** The server settings as `serve` reads them (listen address, timeouts, cache size). */
  config: ServerConfig;
  /** nginx worker processes; `auto`: one per core, as nginx counts them. */
  workers: number | "auto";
  /** Absolute path of SECRET's file, or null with CLIENT_SECRETS alone. */
  secretFile: string | null;
  /** Absolute path of CLIENT_SECRETS' JSON file, or null. */
  clientSecretsFile: string | null;
  /** Absolute folder for the pid file, logs and temporary files. */
  prefix: string;
  /** Absolute folder holding the built module (`dist/nginx`). */
  moduleDir: string;
  /** The `load_module` path of ngx_http_js_module, or null when nginx has it built in. */
  jsModule: string | null;
  /** Absolute folder for nginx's cache, or null for none. */
  cacheDir: string | null;
  /** The package version, for the header comment. */
  version: string;
  /** TRUST_PROXY's entries (checked): proxies whose X-Forwarded-For names the client. */
  trustProxy: readonly string[];
  /** SECRET's secrets as its file held them when the config was printed (never printed). */
  secrets: readonly string[];
  /** CLIENT_SECRETS as its file held them when the config was printed (never printed). */
  clientSecrets?: Readonly<Record<string, readonly string[]>>;
  /** false: every request through the module (`--native off`). */
  native?: boolean;
}

/** Characters a path segment may hold on the native path: the core's plain set (no `%`, `;`, `\\`). */
const PLAIN_CHARS = "A-Za-z0-9._~!$&'()*+,=:@-";
/** The same without `.`: a segment's first character (no `.`/`..` segment, no `/.` at all). */
const PLAIN_FIRST = "A-Za-z0-9_~!$&'()*+,=:@-";

/**
 * The pattern (PCRE and JavaScript alike) of a raw request target that is a plain stream link
 * under `prefixes`: one `decide()` reads without decoding anything (no `%`, `;`, `\\`, `//`, dot
 * segment or byte outside the core's plain set; a path of at most MAX_PATH characters; no
 * `#`), whose token is canonical base64url (its last character carries no spare bits, which
 * nginx's decoder would ignore) and whose id segment and file hold no run of 22 token
 * characters (the log writes them as they are). Named captures: kind, client, video, token,
 * expires, file, query (with its `?`). Held to decide() by a property test.
 */
export function plainStreamPattern(prefixes: readonly string[]): string {
  const kinds = prefixes.map((prefix) => prefix.replace(/\./g, "\\.")).join("|");
  const segment = `[${PLAIN_FIRST}][${PLAIN_CHARS}]*`;
  const noRun = (within: string) => `(?![${within}]*[A-Za-z0-9_-]{22})`;
  return (
    "(?=[^?]{1,1024}(?:\\?|$))" +
    `/(?<tg_kind>${kinds})/` +
    noRun("^/?") +
    `(?<tg_client>[${PLAIN_FIRST.replace("_", "")}][${PLAIN_CHARS.replace("_", "")}]*)` +
    `_(?<tg_video>[${PLAIN_CHARS}]+)/` +
    "(?<tg_token>[A-Za-z0-9_-]{21}[AQgw])/" +
    "(?<tg_expires>[1-9][0-9]{0,17})/" +
    noRun("^?") +
    `(?<tg_file>${segment}(?:/${segment})*/?)` +
    "(?<tg_query>\\?[A-Za-z0-9._~!$&'()*+,;=:@/?%-]+)?\\??$"
  );
}

/**
 * The pattern (PCRE and JavaScript alike) of a raw request target that is a plain file under a
 * CDN-token prefix (`queryPrefixes`; with `*`, any path outside the stream `prefixes`) whose
 * query is exactly `md5=<token>&expires=<expires>`, in that order (the order the gate carries
 * into manifests): a path decide() reads without decoding (as {@link plainStreamPattern}), not
 * a directory, not a manifest (those go through the module's body filter), a file name with an
 * extension, with no run of 22
 * token characters. Named captures: dir (with its last `/`), file, md5, expires. Held to
 * decide() by a property test.
 */
export function plainQueryPattern(
  queryPrefixes: readonly string[] | "*",
  prefixes: readonly string[],
): string {
  const escape = (list: readonly string[]) =>
    list.map((prefix) => prefix.replace(/\./g, "\\.")).join("|");
  const segment = `[${PLAIN_FIRST}][${PLAIN_CHARS}]*`;
  const under =
    queryPrefixes === "*" ? `(?!(?:${escape(prefixes)})/)` : `(?=(?:${escape(queryPrefixes)})/)`;
  return (
    "(?=[^?]{1,1024}\\?)" +
    "(?![^?]*[A-Za-z0-9_-]{22})" +
    `(?<tq_dir>/${under}(?:${segment}/)*)` +
    // A name with an extension: an origin may serve a playlist from a name without one, and a
    // manifest known by its Content-Type alone gets the module's headers.
    `(?<tq_file>[${PLAIN_FIRST}][${PLAIN_CHARS}]*\\.[A-Za-z0-9]+)` +
    "(?<!\\.[mM]3[uU]8)(?<![.][mM][pP][dD])" +
    "\\?md5=(?<tq_md5>[A-Za-z0-9_-]{21}[AQgw])&expires=(?<tq_expires>[1-9][0-9]{0,17})$"
  );
}

/**
 * The pattern (PCRE and JavaScript alike) of a raw request target that is a plain MP4 advanced
 * link under `prefixes`: `/<kind>/<client>_<video>/<file…>.mp4` read without decoding (as
 * {@link plainStreamPattern}; no run of 22 token characters, so no stream link either) whose
 * query is exactly `md5=…&expires=…`, then `speed=…` and `buffer=…` if given, in that order.
 * Named captures: path, client, md5, expires, speed, buffer. Held to decide() by a property
 * test.
 */
export function plainMp4Pattern(prefixes: readonly string[]): string {
  const kinds = prefixes.map((prefix) => prefix.replace(/\./g, "\\.")).join("|");
  const segment = `[${PLAIN_FIRST}][${PLAIN_CHARS}]*`;
  const rate = "[0-9]{1,12}[kKmM]?";
  return (
    "(?=[^?]{1,1024}\\?)" +
    "(?![^?]*[A-Za-z0-9_-]{22})" +
    `(?<tm_path>/(?:${kinds})/` +
    `(?<tm_client>[${PLAIN_FIRST.replace("_", "")}][${PLAIN_CHARS.replace("_", "")}]*)_[${PLAIN_CHARS}]+/` +
    // The file's name as any segment's: no `.` first (no dot segment, no hidden file).
    `(?:${segment}/)*[${PLAIN_FIRST}][${PLAIN_CHARS}]*\\.[mM][pP]4)` +
    "\\?md5=(?<tm_md5>[A-Za-z0-9_-]{21}[AQgw])&expires=(?<tm_expires>[1-9][0-9]{0,17})" +
    `(?:&speed=(?<tm_speed>${rate}))?(?:&buffer=(?<tm_buffer>${rate}))?$`
  );
}

/**
 * Why the config cannot decide the common stream link natively, or undefined when it can:
 * settings whose grants need the module (a cache key of listed query parameters), a
 * FORWARD_HEADERS name
 * nginx has no `$http_` variable for, or a first secret an nginx string cannot carry.
 */
export function nativeBlocker(options: NginxConfOptions): string | undefined {
  const { settings } = options;
  if (options.native === false) return "--native off";
  if (options.secrets.length === 0 && options.clientSecretsFile === null) return "no SECRET";
  // A list's key needs the module's reading of the query (a name twice or spelled otherwise).
  const keyQuery = settings.cache?.keyQuery;
  if (options.cacheDir !== null && keyQuery !== undefined && typeof keyQuery !== "string") {
    return "a CACHE_KEY_QUERY list";
  }
  if (settings.forwardHeaders.some((name) => !/^[a-z0-9-]+$/.test(name))) return "FORWARD_HEADERS";
  const first = options.secrets[0];
  if (first !== undefined && !nginxCarries(first)) {
    return "a SECRET nginx's config cannot carry (a control character, or over 4,000 characters)";
  }
  return undefined;
}

/** A secret as it stands inside the double quotes of {@link secretConf}'s `geo` value. */
function quotedSecret(secret: string): string {
  return secret.replace(/[\\"]/g, (c) => `\\${c}`);
}

/**
 * Whether an nginx config string can carry `secret` as it is: no control character, and at
 * most 4,000 characters quoted (nginx reads no parameter over 4 KiB and refuses to start).
 */
function nginxCarries(secret: string): boolean {
  return !/[\x00-\x1f\x7f]/.test(secret) && quotedSecret(secret).length <= 4000;
}

/**
 * The file nginx's master includes as root at start and reload: SECRET's first secret as
 * `$tokengate_secret`, for `secure_link_md5`, in a `geo` block, whose values are taken as
 * written (a `map`'s or `set`'s would read a `$` in the secret as a variable); with
 * CLIENT_SECRETS, each client's first secret by its id (`$tokengate_client_entry`, the id
 * first: a `map` finds its keys in any case, {@link clientSecretMaps} compares them exactly).
 * A client whose first secret holds a `$` or what {@link nginxCarries} refuses, or whose id
 * holds what {@link NATIVE_ID} does not or differs from an earlier one's in case alone, is
 * left out: its links are the module's.
 */
export function secretConf(
  secret: string | undefined,
  clients?: Readonly<Record<string, readonly string[]>>,
): string {
  const lines = [
    "# tokengate: the secrets nginx's secure_link checks. Written by `tokengate nginx-config`;",
    "# rewrite it (run that command again) and `nginx -s reload`.",
  ];
  if (secret !== undefined) {
    lines.push("geo $tokengate_secret {", `    default "${quotedSecret(secret)}";`, "}");
  }
  if (clients !== undefined) {
    // Keyed "c:<id>": no id is then a word of the map's own (`default`, `include`, `volatile`,
    // `hostnames`) or a pattern (`~…`).
    lines.push('map "c:$tokengate_link_client" $tokengate_client_entry {', '    default "";');
    const seen = new Set<string>();
    for (const id of Object.keys(clients)) {
      const first = clients[id]![0]!;
      // One key a spelling: nginx refuses two that differ in case alone (the later one's
      // links are the module's).
      if (!NATIVE_ID.test(id) || seen.has(id.toLowerCase())) continue;
      if (first.includes("$") || !nginxCarries(first)) continue;
      seen.add(id.toLowerCase());
      lines.push(`    "c:${id}" "${id} ${quotedSecret(first)}";`);
    }
    lines.push("}");
  }
  lines.push("");
  return lines.join("\n");
}

/** The variable holding the client's address on the native path (TRUST_PROXY read, or the peer). */
function clientVar(options: NginxConfOptions): string {
  return options.trustProxy.length === 0 ? "remote_addr" : "tokengate_client_addr";
}

/** A canonical IPv4 address, as `canonicalAddress()` writes one. */
const IPV4 =
  "(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

/**
 * With TRUST_PROXY, the client's address where nginx reads it as `clientAddressOf()` does
 * (`$tokengate_client_addr`): a peer not in TRUST_PROXY is the client, X-Forwarded-For aside;
 * a trusted one's request with no X-Forwarded-For (or a blank one) comes from the peer, and one
 * with a single hop that is a canonical IPv4 address from that hop (trusted or not, it is the
 * right-most and the left-most). Anything else (several hops, other spellings) is empty: the
 * module's to read. Not nginx's realip module, which reads spellings the core refuses.
 */
function trustedClientMaps(options: NginxConfOptions): string[] {
  if (options.trustProxy.length === 0) return [];
  const ranges = parseAddressRangeList(options.trustProxy.join(","));
  return [
    "    # TRUST_PROXY: whether the peer is one of its proxies, and the client's address where",
    "    # nginx reads it as the module does (else empty, and the module's).",
    "    geo $tokengate_peer_trusted {",
    '        default "";',
    // Each network once: nginx warns of one given twice (`10.1.2.3/8` and `10.0.0.0/8`).
    ...[...new Set(ranges.map(cidr))].map((network) => `        ${network} 1;`),
    "    }",
    '    map "$tokengate_peer_trusted|$http_x_forwarded_for|$remote_addr" $tokengate_client_addr {',
    '        default "";',
    `        ${regexString("~^\\|.*\\|([^|]+)$")} $1;`,
    `        ${regexString("~^1\\|[ \\t]*\\|([^|]+)$")} $1;`,
    // The whole header is the hop: a `|` in it (a value may hold one) would end it early and
    // hide what a proxy appended (red team).
    `        ${regexString(`~^1\\|[ \\t]*(${IPV4})[ \\t]*\\|[^|]+$`)} $1;`,
    "    }",
  ];
}

/** An address range as nginx's `geo` reads one, its host bits zero (nginx warns otherwise). */
function cidr({ parts, bits }: { parts: readonly number[]; bits: number }): string {
  const width = parts.length === 4 ? 8 : 16;
  const masked = parts.map((part, i) => {
    const kept = Math.max(0, Math.min(width, bits - i * width));
    return kept === 0 ? 0 : part & ~((1 << (width - kept)) - 1) & ((1 << width) - 1);
  });
  const address =
    parts.length === 4 ? masked.join(".") : masked.map((part) => part.toString(16)).join(":");
  return `${address}/${bits}`;
}

/**
 * A client id nginx's `map` can carry as written, as a key and inside a value (no `$`), and
 * short enough for the `map`'s buckets ({@link secretInclude} sizes them for this length).
 */
const NATIVE_ID = /^[A-Za-z0-9._~!&'()*+,=:@%-]{1,200}$/;

/**
 * The `include` of {@link secretConf}'s file, before any `map` (with CLIENT_SECRETS, the
 * sizes of nginx's `map` tables come first: one client a key, up to 202 characters a key).
 */
function secretInclude(options: NginxConfOptions): string[] {
  const clients =
    options.clientSecrets === undefined ? 0 : Object.keys(options.clientSecrets).length;
  return [
    ...(options.clientSecrets === undefined
      ? []
      : [
          `    map_hash_max_size ${Math.max(2048, 2 ** Math.ceil(Math.log2(2 * clients + 1)))};`,
          // A bucket holds at least one key ("c:" and an id of up to 200 characters, with
          // nginx's pointer and length, 8-byte aligned) and its end mark.
          "    map_hash_bucket_size 256;",
        ]),
    "    # The secrets nginx's secure_link checks (SECRET's first, a client's first), from the",
    "    # file nginx-config wrote (0600), read by nginx's master at start and reload.",
    `    include ${nginxString("--prefix", `${options.prefix}/${SECRET_CONF_FILE}`)};`,
  ];
}

/**
 * The `map`s that give a link's client its first secret from {@link secretConf}'s table:
 * `$tokengate_client_secret`, empty for a client not in it (or spelled in another case), and
 * `$tokengate_client_known`, which the token's `map` requires (an empty secret would make
 * secure_link check a token anyone can compute).
 */
function clientSecretMaps(mp4: boolean): string[] {
  return [
    "    # CLIENT_SECRETS: the link's client, its entry's secret when the id is the same to",
    "    # the letter, and whether there is one.",
    "    map $tokengate_link $tokengate_link_client {",
    '        default "";',
    "        1 $tg_client;",
    ...(mp4 ? ["        3 $tm_client;"] : []),
    "    }",
    '    map "$tokengate_link_client $tokengate_client_entry" $tokengate_client_secret {',
    '        default "";',
    `        ${regexString("~^([^ ]+) \\1 (.+)$")} $2;`,
    "    }",
    "    map $tokengate_client_secret $tokengate_client_known {",
    "        default 1;",
    '        "" "";',
    "    }",
  ];
}

/** A header name as written in a request (`if-none-match` → `If-None-Match`). */
function headerName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * A value as an nginx config string: single-quoted. Refused (TypeError naming `what`) when it
 * holds what nginx would read as something else (`$` starts a variable, `'` and `\` quote and
 * escape) or a control character.
 */
export function nginxString(what: string, value: string): string {
  if (/[$'\\\x00-\x1f\x7f]/.test(value)) {
    throw new TypeError(
      `${what} holds $, ', \\ or a control character, which an nginx config cannot carry as written`,
    );
  }
  return `'${value}'`;
}

/**
 * A pattern as an nginx string: double-quoted (a `#` or `{` unquoted would be syntax), its
 * backslashes doubled, which nginx undoes.
 */
function regexString(pattern: string): string {
  if (/["\x00-\x1f\x7f]/.test(pattern)) {
    throw new TypeError("ORIGIN_URL holds a quote or a control character");
  }
  return `"${pattern.replace(/\\/g, "\\\\")}"`;
}

/** The body the other runtimes send for `reason`, as an nginx string (`\\n` for its newline). */
function quotedBody(
  reason: "origin-error" | "origin-timeout" | "client-limit" | "bad-token" | "expired",
): string {
  return `"${rejection(reason).body.replace(/\n/g, "\\n")}"`;
}

/**
 * The refusals nginx makes itself on the native path, each with the internal code that leads
 * to its location: what `decide()` answers when `secure_link` finds a plain stream link's
 * token wrong (`""`) or right but expired (`"0"`) under SECRET's first secret. A wrong token
 * is the module's when another secret might make it right (a rotation) or an address-bound
 * form might (`BIND_IP=optional`); an expired one when `EXPIRY_LEEWAY_S` might still grant it.
 */
function nativeRefusals(options: NginxConfOptions): NativeRefusal[] {
  const { gate } = options.settings;
  const refusals: NativeRefusal[] = [];
  // With CLIENT_SECRETS a client may hold more than one (a rotation): the module's to try.
  if (
    options.secrets.length === 1 &&
    options.clientSecrets === undefined &&
    gate.bindIp !== "optional"
  ) {
    refusals.push({
      reason: "bad-token",
      code: 460,
      secureLink: "",
      location: "@tokengate_bad_token",
    });
  }
  if (gate.expiryLeewaySeconds === 0) {
    refusals.push({
      reason: "expired",
      code: 461,
      secureLink: "0",
      location: "@tokengate_expired",
    });
  }
  return refusals;
}

interface NativeRefusal {
  reason: "bad-token" | "expired";
  /** The internal status that leads to `location` (error_page). */
  code: number;
  /** `$secure_link`'s value for it. */
  secureLink: string;
  location: string;
}

/**
 * The location of a refusal nginx makes itself: the other runtimes' answer for `reason`
 * (`rejection()`: status, body and headers), its reason for the access log, and no module.
 */
function refusalLocation(
  { reason, location }: NativeRefusal,
  cors: CorsOrigins | undefined,
): string[] {
  const { status, headers } = rejection(reason);
  const lines = [
    `        location ${location} {`,
    "            set $tokengate_log_target $tokengate_native_log;",
    `            set $tokengate_reason ${reason};`,
    "            # The type the other runtimes give it, not one from the file's extension.",
    "            types { }",
    `            default_type "${headers["content-type"]}";`,
  ];
  for (const name of Object.keys(headers)) {
    if (name === "content-type" || name === "content-length") continue;
    lines.push(`            add_header ${headerName(name)} "${headers[name]}" always;`);
  }
  if (cors !== undefined) lines.push(...corsAddHeaders(cors, reason));
  lines.push(`            return ${status} ${quotedBody(reason)};`, "        }");
  return lines;
}

/** A stand-in for the client's `Origin` in {@link corsAddHeaders}: no header value is it. */
const ASKING = "\0asking";

/**
 * The `add_header`s of CORS_ORIGINS on an answer of the native path: `corsHeaders()` for an
 * allowed `Origin`, the client's standing in as `$tokengate_cors_origin` (empty, so not sent,
 * when it is not listed), with what only a listed one is shown in `$tokengate_cors_expose`.
 * A grant's `Vary: Origin` is a line of its own unless the origin's first line names it
 * (`$tokengate_cors_vary`): nginx 1.22 reads only the first of several, so the origin's lines
 * are kept as they are, where the module joins them into one.
 */
function corsAddHeaders(cors: CorsOrigins, reason?: "bad-token" | "expired"): string[] {
  return corsHeaders(cors === "*" ? "*" : [ASKING], ASKING, reason).map(([name, value]) => {
    const shown =
      value === ASKING
        ? "$tokengate_cors_origin"
        : name === "vary"
          ? reason === undefined
            ? "$tokengate_cors_vary"
            : `"${value}"`
          : name === "access-control-expose-headers" && cors !== "*"
            ? "$tokengate_cors_expose"
            : `"${value}"`;
    return `            add_header ${headerName(name)} ${shown} always;`;
  });
}

/**
 * The `map`s {@link corsAddHeaders} reads: the client's `Origin` when CORS_ORIGINS lists it
 * exactly (case and all, as the module compares), what only such a client is shown, and whether
 * the origin's answer varies on `Origin` already.
 */
function corsMaps(cors: CorsOrigins): string[] {
  if (cors === "*") return [];
  const exposed = corsHeaders(cors, cors[0], undefined).find(
    ([name]) => name === "access-control-expose-headers",
  )![1];
  return [
    "    # CORS_ORIGINS: the client's Origin when it is listed exactly, else nothing.",
    "    map $http_origin $tokengate_cors_origin {",
    '        default "";',
    ...cors.map(
      (origin) =>
        `        ${regexString(`~^${origin.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\z`)} $http_origin;`,
    ),
    "    }",
    "    map $tokengate_cors_origin $tokengate_cors_expose {",
    '        "" "";',
    `        default "${exposed}";`,
    "    }",
    "    # The origin's Vary, first line (all nginx 1.22 reads): Origin (or *) there already.",
    "    map $upstream_http_vary $tokengate_cors_vary {",
    "        default Origin;",
    `        ${regexString(String.raw`~*(?:^|,)[ \t]*(?:origin|\*)[ \t]*(?:,|$)`)} "";`,
    "    }",
  ];
}

/**
 * The Fetch standard's CORS answer headers: those of the origin the native path hides
 * (nginx hides by name; the module drops every `Access-Control-*` name, which no browser
 * reads beyond these).
 */
const CORS_ANSWER_HEADERS = [
  "Access-Control-Allow-Origin",
  "Access-Control-Allow-Credentials",
  "Access-Control-Allow-Methods",
  "Access-Control-Allow-Headers",
  "Access-Control-Expose-Headers",
  "Access-Control-Max-Age",
  "Access-Control-Allow-Private-Network",
];

/** nginx time syntax for milliseconds; 0 (no limit) as an hour, nginx having no "none". */
function duration(ms: number): string {
  return ms === 0 ? "3600s" : `${ms}ms`;
}

/**
 * The module's settings for these options: what {@link nginxConf}'s config has nginx load
 * from `<prefix>/tokengate-settings.json` (the caller writes it there).
 */
export function moduleSettings(options: NginxConfOptions): ModuleSettings {
  const { gate, cors } = options.settings;
  const keyQuery = options.settings.cache?.keyQuery;
  return {
    secretFile: options.secretFile,
    secretsPreloaded: options.secretFile !== null,
    clientSecrets: options.clientSecretsFile !== null,
    prefixes: gate.prefixes.slice(),
    queryPrefixes: gate.queryPrefixes === "*" ? "*" : gate.queryPrefixes.slice(),
    bindIp: gate.bindIp,
    mp4Tokens: gate.mp4Tokens,
    expiryLeewaySeconds: gate.expiryLeewaySeconds,
    cors: cors === undefined ? null : cors === "*" ? "*" : cors.slice(),
    cache: options.cacheDir !== null,
    cacheKeyQuery:
      keyQuery === undefined || typeof keyQuery === "string"
        ? (keyQuery ?? "none")
        : keyQuery.slice(),
    forwardHeaders: options.settings.forwardHeaders.slice(),
    trustProxy:
      options.trustProxy.length === 0 ? [] : parseAddressRangeList(options.trustProxy.join(",")),
    origin: options.settings.origin,
  };
}

/**
 * The whole `nginx.conf`.
 *
 * @example
 * ```ts
 * const options = { settings: readSettings(env), config: readServerConfig(env, 1), workers: "auto", secretFile: "/etc/tokengate/secret", clientSecretsFile: null, prefix: "/var/lib/tokengate", moduleDir, jsModule: DEBIAN_JS_MODULE, cacheDir: null, version, trustProxy: [] } as const;
 * writeFileSync(`${options.prefix}/tokengate-settings.json`, JSON.stringify(moduleSettings(options)));
 * process.stdout.write(nginxConf(options));
 * ```
 */
export function nginxConf(options: NginxConfOptions): string {
  const { config, prefix, settings } = options;
  const origin = new URL(settings.origin);
  const https = origin.protocol === "https:";
  const port = origin.port || (https ? "443" : "80");

  const at = (name: string) => nginxString("--prefix", `${prefix}/${name}`);
  const host =
    config.host.includes(":") && !config.host.startsWith("[") ? `[${config.host}]` : config.host;
  const originTimeout = duration(settings.originTimeoutMs);
  const clientTimeout = duration(config.clientTimeoutMs);
  const native = nativeBlocker(options) === undefined;
  const lines: string[] = [
    `# tokengate ${options.version} inside nginx, printed by \`tokengate nginx-config\`.`,
    "# The njs module decides each request with the same decide() as the Worker and the Node",
    "# server; nginx answers its refusals and streams what it grants from the origin.",
    "# The secret is not in this file: the module takes it from the copy nginx-config wrote",
    "# and nginx's master loads at start and reload (a rotation: nginx-config again, reload).",
  ];
  if (native) {
    lines.push(
      "# A plain stream link (or a file with its folder's CDN token) with a right token under",
      "# SECRET's first secret is checked and proxied by nginx itself (secure_link), without",
      "# the module; everything else is the module's. That secret is in the file included",
      "# below, which nginx reads at start and on `nginx -s reload`.",
    );
  }
  if (options.jsModule !== null)
    lines.push(`load_module ${nginxString("--js-module", options.jsModule)};`);
  lines.push(
    `worker_processes ${options.workers};`,
    `pid ${at("nginx.pid")};`,
    "# The raw-path patterns run on every request: compiled to machine code.",
    "pcre_jit on;",
    `error_log ${at("error.log")} notice;`,
    "",
    "events {",
    "    worker_connections 4096;",
    "}",
    "",
    "http {",
    "    # nginx's own lines about a request quote its request line, token and all (an origin",
    "    # refused or timed out: error; a cache file not written: crit): none below alert is",
    "    # logged from a request. Why an origin failed is in the access log instead; the",
    "    # module's own lines (alert, written by njs without the request line) still are.",
    `    error_log ${at("error.log")} alert;`,
    "    # The maps below name more variables than nginx's default table holds without a warning",
    "    # at every start, test and reload.",
    "    variables_hash_max_size 4096;",
    ...(native ? secretInclude(options) : []),
    `    client_body_temp_path ${at("client_body")};`,
    `    proxy_temp_path ${at("proxy")};`,
    `    fastcgi_temp_path ${at("fastcgi")};`,
    `    uwsgi_temp_path ${at("uwsgi")};`,
    `    scgi_temp_path ${at("scgi")};`,
    "    server_tokens off;",
    "    # nginx's own answers (refusals) are text, as on the other runtimes.",
    '    default_type "text/plain; charset=utf-8";',
    `    client_header_timeout ${clientTimeout};`,
    `    send_timeout ${clientTimeout};`,
    `    keepalive_timeout ${config.keepAliveTimeoutMs}ms;`,
    "    # Request lines and headers beyond these are refused by nginx (414, 400) before the module.",
    "    large_client_header_buffers 4 16k;",
    "    # A body is never forwarded: one that fits this buffer is read and dropped, a larger one",
    "    # refused (413) before it is read; nginx writes no temporary file.",
    "    client_max_body_size 16k;",
    "    client_body_buffer_size 16k;",
    "    underscores_in_headers off;",
    "    ignore_invalid_headers on;",
    // TRUST_PROXY is the module's to read (clientAddressOf, as on Node), not realip's: realip
    // reads `9.9.9.9:1234` or `009.009.009.009` as 9.9.9.9 and junk as the proxy itself.
    "",
    `    js_path ${nginxString("the module folder", options.moduleDir)};`,
    "    js_import tokengate from tokengate.js;",
  );
  if (options.clientSecretsFile !== null) {
    lines.push(
      "    # CLIENT_SECRETS as nginx-config copied it, read by nginx at start or reload (as root).",
      `    js_preload_object ${CLIENT_SECRETS_OBJECT} from ${at(CLIENT_SECRETS_FILE)};`,
    );
  }
  if (options.secretFile !== null) {
    lines.push(
      "    # SECRET as nginx-config copied it, read by nginx at start or reload (as root), the",
      "    # module's only source of it: the one the native path checks too.",
      `    js_preload_object ${SECRETS_OBJECT} from ${at(SECRETS_FILE)};`,
    );
  }
  lines.push(
    `    js_preload_object ${SETTINGS_OBJECT} from ${at(SETTINGS_FILE)};`,
    "    js_var $tokengate_reason;",
    "    js_var $tokengate_error;",
    "    js_var $tokengate_body;",
    "    js_var $tokengate_target;",
    "    js_var $tokengate_cache_key;",
    "    js_var $tokengate_cache_bypass;",
    "    js_var $tokengate_client;",
    "    js_var $tokengate_forward;",
    "    js_var $tokengate_propagate;",
    "    js_var $tokengate_manifest;",
    "    js_var $tokengate_limit_rate 0;",
    "    js_var $tokengate_limit_rate_after 0;",
    "    js_set $tokengate_status tokengate.status;",
    "    # The origin's Location and Refresh as the client gets them: by the patterns that",
    "    # decide a plain one alone (plainLocationRules), else the module asked (on the native",
    "    # path too, which runs no njs otherwise).",
    "    js_set $tokengate_js_location tokengate.location;",
    "    js_set $tokengate_js_refresh tokengate.refresh;",
    ...relocationMap("location", "$tokengate_location", settings.origin),
    "    map $upstream_http_refresh $tokengate_refresh {",
    "        default $tokengate_js_refresh;",
    '        "" "";',
    "    }",
    "    js_var $tokengate_log_target;",
    "    # Set by every function of the module a request enters: the access log's `njs`.",
    "    js_var $tokengate_njs;",
    "",
    "    # Why the origin failed, from what nginx saw of it: no connection (refused, unreachable:",
    "    # 502, never connected; or 504, no connection in time), no answer in time (504), or an",
    "    # answer nginx could not read (502).",
    '    map "$upstream_status $upstream_connect_time $upstream_header_time" $tokengate_origin {',
    '        default "";',
    '        "~^502 - " connect-failed;',
    '        "~^504 - " connect-timeout;',
    '        "~^504 " answer-timeout;',
    '        "~^502 " bad-answer;',
    "    }",
    "",
    "    # One JSON line per request; the path never holds a token.",
    "    log_format tokengate escape=json",
    `        '{"time":"$time_iso8601","pid":$pid,"method":"$request_method",'`,
    `        '"path":"$tokengate_log_target","status":$status,"reason":"$tokengate_reason$tokengate_error","njs":"$tokengate_njs",'`,
    `        '"bytes":$body_bytes_sent,"s":$request_time,"origin":"$tokengate_origin",'`,
    `        '"upstream_status":"$upstream_status","upstream_addr":"$upstream_addr",'`,
    `        '"upstream_connect_time":"$upstream_connect_time","upstream_header_time":"$upstream_header_time"}';`,
    `    access_log ${at("access.log")} tokengate;`,
    "",
    ...(native ? nativeMaps(options) : []),
    ...(config.requestsPerClient === 0
      ? []
      : [
          "    # REQUESTS_PER_CLIENT: granted requests in flight per client address (the module's,",
          "    # TRUST_PROXY read as on Node), shared by every worker.",
          "    limit_conn_zone $tokengate_client zone=tokengate_clients:10m;",
          "",
        ]),
    "    upstream tokengate_origin {",
    `        server ${nginxString("ORIGIN_URL", `${origin.hostname}:${port}`)};`,
    `        keepalive ${Math.min(config.originConnections, 1024)};`,
    "        keepalive_timeout 60s;",
    "    }",
  );
  if (options.cacheDir !== null) {
    lines.push(
      "    # Kept as the other runtimes keep: not an answer that varies on a request header other",
      "    # than Accept-Encoding (the origin is asked uncompressed, and the key holds no header).",
      "    # nginx 1.22 reads the first Vary line.",
      "    map $upstream_http_vary $tokengate_vary_unkept {",
      "        default 1;",
      '        "" "";',
      `        ${regexString("~*^[ \\t]*accept-encoding[ \\t]*(?:,[ \\t]*accept-encoding[ \\t]*)*$")} "";`,
      "    }",
      "    map $upstream_status $tokengate_not_200 {",
      '        200 "";',
      "        # A slice (below): the part nginx asked for, checked against it by the slice module.",
      '        206 "";',
      "        default 1;",
      "    }",
      `    proxy_cache_path ${nginxString("--cache-dir", options.cacheDir)} levels=1:2 keys_zone=tokengate:16m`,
      `        max_size=${config.cache?.maxBytes ?? 268_435_456} inactive=1h use_temp_path=off;`,
    );
  }
  const listen = `${host}:${config.port}`;
  const manifests = settings.gate.queryPrefixes === "*" || settings.gate.queryPrefixes.length > 0;
  // Quoted whole: a path may hold `;` or `{`, which nginx reads as syntax outside quotes.
  const proxyPass = `            proxy_pass ${nginxString("ORIGIN_URL", `${https ? "https" : "http"}://tokengate_origin${origin.pathname.replace(/\/+$/, "")}`).slice(0, -1)}$tokengate_target';`;
  lines.push(
    "",
    "    server {",
    `        listen ${nginxString("HOST", listen)};`,
    "",
    "        # How every granted request goes to the origin (the locations below inherit it).",
    "        proxy_http_version 1.1;",
    "        # The module passes the client's headers by the one header policy of the other",
    "        # runtimes: nginx sends none of its own accord.",
    "        proxy_pass_request_headers off;",
    "        proxy_pass_request_body off;",
    `        proxy_set_header Host ${nginxString("ORIGIN_URL", origin.host)};`,
    '        proxy_set_header Connection "";',
    "        # nginx would state the client's body length without sending the body: the origin",
    "        # would then read the next request on the connection as this one's body.",
    '        proxy_set_header Content-Length "";',
    '        proxy_set_header Transfer-Encoding "";',
    "        proxy_set_header X-Forwarded-Proto $tokengate_forward;",
    "        # Streamed as the client reads, through memory buffers only, never a temp file.",
    "        proxy_max_temp_file_size 0;",
    `        proxy_connect_timeout ${originTimeout};`,
    `        proxy_send_timeout ${originTimeout};`,
    `        proxy_read_timeout ${originTimeout};`,
    "        proxy_intercept_errors off;",
    "        # The origin gets no say in how nginx handles the request (an X-Accel-Redirect",
    "        # would be followed inside nginx).",
    "        proxy_ignore_headers X-Accel-Redirect X-Accel-Expires X-Accel-Limit-Rate",
    "            X-Accel-Buffering X-Accel-Charset;",
    "        # Hop-by-hop: nginx drops Connection and Transfer-Encoding itself; those an",
    "        # origin's Connection names, the module drops.",
    ...HOP_BY_HOP_HIDDEN.map((name) => `        proxy_hide_header ${name};`),
    "        # An origin's redirect never shows its address: its Location and Refresh are",
    "        # hidden and added again as the module reads them ($tokengate_location), on both",
    "        # paths; proxy_redirect's patterns cannot read every spelling of the origin's host",
    "        # a browser reads (a trailing dot, a tab, one slash, %-escapes, 2130706433).",
    "        # Left relative, as the other runtimes leave it, not given the gate's own host.",
    "        absolute_redirect off;",
    "        proxy_redirect off;",
    "        proxy_hide_header Location;",
    "        proxy_hide_header Refresh;",
    "        limit_rate $tokengate_limit_rate;",
    "        limit_rate_after $tokengate_limit_rate_after;",
  );
  if (config.requestsPerClient > 0) {
    lines.push(
      "        # Counted from the preaccess phase on: refusals, answered before it, never are.",
      `        limit_conn tokengate_clients ${config.requestsPerClient};`,
      "        limit_conn_status 503;",
      "        # Below the error log's level: a line there would quote the request, token and all.",
      "        limit_conn_log_level info;",
    );
  }
  if (https) {
    lines.push(
      "        proxy_ssl_server_name on;",
      `        proxy_ssl_name ${nginxString("ORIGIN_URL", origin.hostname)};`,
      "        proxy_ssl_verify on;",
      "        proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;",
    );
  }
  if (options.cacheDir !== null) {
    lines.push(
      "        # Kept by the origin path the module strips the token from, never the token, with",
      "        # the query parameters CACHE_KEY_QUERY names (the module sets the key by the rule",
      "        # of the other runtimes; the origin is asked with the whole query), and only a",
      "        # 200, as the Node server's cache keeps.",
      "        proxy_cache tokengate;",
      "        # Fetched and kept in 1 MiB slices (nginx's slice module, in Debian's nginx): a",
      "        # viewer's Range costs the origin the slices it spans, at most 1 MiB more than it",
      "        # asked for, even of an object nginx may not keep (none whole per 1-byte Range).",
      "        slice 1m;",
      "        proxy_set_header Range $slice_range;",
      '        proxy_cache_key "$tokengate_cache_key $slice_range";',
      "        # Admission by frequency: an object is kept from its second request (within the",
      "        # zone's inactive time) on, so a flood of one-off keys streams through and evicts",
      "        # nothing the cache holds.",
      "        proxy_cache_min_uses 2;",
      "        # A query the key cannot name (a key parameter twice, or spelled otherwise): passed",
      "        # through, neither answered from the cache nor kept (core/cache-key.ts).",
      "        proxy_cache_bypass $tokengate_cache_bypass;",
      "        proxy_no_cache $tokengate_not_200 $tokengate_cache_bypass $tokengate_vary_unkept;",
      "        # One copy whatever the viewer's headers: the origin was asked in none of them (a",
      "        # Vary nginx honoured would keep a copy per value a viewer makes up).",
      "        proxy_ignore_headers Vary;",
      "        proxy_cache_lock on;",
      "        proxy_cache_revalidate on;",
      "        proxy_cache_use_stale updating;",
      "        # Ranges and conditions are answered from the slices nginx asks for and keeps",
      "        # (the module passes neither on), whatever the origin's Accept-Ranges.",
      "        proxy_force_ranges on;",
    );
  }
  lines.push(
    "",
    "        location / {",
    ...(native
      ? [
          "            # The common request, decided by nginx: a plain stream link whose token",
          "            # secure_link finds right and unexpired.",
          "            set $tokengate_go $tokengate_native;",
          "            if ($tokengate_go) { return 419; }",
          "            error_page 419 = @tokengate_native;",
          "            # So that @tokengate_native's own error pages (origin failures) still apply.",
          "            recursive_error_pages on;",
          ...nativeRefusals(options).flatMap(({ reason, code, location }) => [
            `            if ($tokengate_native_refusal = ${reason}) { return ${code}; }`,
            `            error_page ${code} = ${location};`,
          ]),
        ]
      : []),
    "            js_header_filter tokengate.headers;",
    "            # The only add_headers of this location: none inherited is lost.",
    ...REDIRECT_HEADERS,
    "            if ($tokengate_status = 204) { return 204; }",
    "            if ($tokengate_status = 403) { return 403 $tokengate_body; }",
    "            if ($tokengate_status = 404) { return 404 $tokengate_body; }",
    "            if ($tokengate_status = 405) { return 405 $tokengate_body; }",
    "            if ($tokengate_status = 410) { return 410 $tokengate_body; }",
    ...(manifests
      ? [
          "            # A manifest a CDN token is to be carried into: through the body filter, which",
          "            # no other answer pays for.",
          "            if ($tokengate_status = manifest) { return 418; }",
          "            error_page 418 = @tokengate_manifest;",
        ]
      : []),
    "            if ($tokengate_status != 200) { return 500 $tokengate_body; }",
    proxyPass,
    ...FAILURE_PAGES,
    "        }",
  );
  if (manifests) {
    lines.push(
      "",
      "        location @tokengate_manifest {",
      "            js_header_filter tokengate.headers;",
      "            js_body_filter tokengate.body buffer_type=buffer;",
      ...REDIRECT_HEADERS,
      ...(options.cacheDir !== null
        ? [
            "            # Asked for whole (the module passes no Range and no condition on) and",
            "            # answered whole: nginx's cache would answer a viewer's If-None-Match with",
            "            # a 304 that keeps the copy with an earlier grant's token.",
            "            proxy_cache off;",
            "            proxy_force_ranges off;",
            "            slice 0;",
          ]
        : []),
      proxyPass,
      ...FAILURE_PAGES,
      "        }",
    );
  }
  if (native) {
    for (const refusal of nativeRefusals(options)) {
      lines.push("", ...refusalLocation(refusal, settings.cors));
    }
    const limitKey =
      config.requestsPerClient > 0
        ? [`            set $tokengate_client $${clientVar(options)};`]
        : [];
    lines.push(
      "",
      "        # What the module would send for this grant: the header allow-list and",
      "        # FORWARD_HEADERS (values past ASCII dropped), the client's address and scheme.",
      "        location @tokengate_native {",
      "            set $tokengate_log_target $tokengate_native_log;",
      ...limitKey,
      ...(settings.gate.mp4Tokens
        ? [
            "            set $tokengate_limit_rate $tokengate_native_rate;",
            "            set $tokengate_limit_rate_after $tokengate_native_rate_after;",
          ]
        : []),
      `            proxy_set_header Host ${nginxString("ORIGIN_URL", origin.host)};`,
      '            proxy_set_header Connection "";',
      '            proxy_set_header Content-Length "";',
      '            proxy_set_header Transfer-Encoding "";',
      ...(options.cacheDir === null
        ? [
            ...forwardedNames(settings.forwardHeaders).map(
              (name) =>
                `            proxy_set_header ${headerName(name)} $http_${name.replace(/-/g, "_")};`,
            ),
            `            proxy_set_header X-Forwarded-For $${clientVar(options)};`,
            "            proxy_set_header X-Forwarded-Proto $scheme;",
          ]
        : [
            "            # Kept for every viewer: asked for in no viewer's words, as the module asks.",
            "            proxy_set_header X-Forwarded-Proto $scheme;",
            "            proxy_set_header Accept-Encoding identity;",
            "            proxy_set_header Range $slice_range;",
            "            set $tokengate_cache_key $tokengate_native_cache_key;",
            "            add_header X-Cache $tokengate_x_cache always;",
          ]),
      "            # The only add_headers of the server: none inherited is lost.",
      "            # Its own proxy_hide_headers replace the server's: those again, then its own.",
      ...HOP_BY_HOP_HIDDEN.map((name) => `            proxy_hide_header ${name};`),
      "            proxy_hide_header Location;",
      "            proxy_hide_header Refresh;",
      "            proxy_hide_header Content-Location;",
      "            proxy_hide_header Link;",
      ...REDIRECT_HEADERS,
      "            add_header Content-Location $tokengate_native_content_location always;",
      "            add_header Link $tokengate_native_link always;",
      ...(settings.cors === undefined
        ? []
        : [
            ...CORS_ANSWER_HEADERS.map((name) => `            proxy_hide_header ${name};`),
            ...corsAddHeaders(settings.cors),
          ]),
      proxyPass.replace("$tokengate_target", "$tokengate_native_target"),
      ...FAILURE_PAGES,
      "        }",
    );
  }
  lines.push(
    "",
    ...ORIGIN_FAILURES.flatMap(({ status, reason, location }) => [
      `        location ${location} {`,
      "            js_header_filter tokengate.headers;",
      `            set $tokengate_error ${reason};`,
      `            return ${status} ${quotedBody(reason)};`,
      "        }",
    ]),
    "    }",
    "}",
    "",
  );
  return lines.join("\n");
}

/** nginx's own failures of a grant (the origin's, the per-client limit's): a location each. */
const ORIGIN_FAILURES = [
  { status: 502, reason: "origin-error", location: "@tokengate_origin_error" },
  { status: 504, reason: "origin-timeout", location: "@tokengate_origin_timeout" },
  { status: 503, reason: "client-limit", location: "@tokengate_client_limit" },
] as const;

/** Every location that proxies sends those failures to theirs. */
const FAILURE_PAGES = ORIGIN_FAILURES.map(
  ({ status, location }) => `            error_page ${status} = ${location};`,
);

/** The origin's Location and Refresh as the client gets them, on every answer that proxies. */
const REDIRECT_HEADERS = [
  "            add_header Location $tokengate_location always;",
  "            add_header Refresh $tokengate_refresh always;",
];

/**
 * The answer headers nginx would pass on that the policy drops: hop-by-hop ones (it drops
 * Connection and Transfer-Encoding itself) and those never returned (`NEVER_RETURNED`).
 */
const HOP_BY_HOP_HIDDEN = [
  "Keep-Alive",
  "Proxy-Connection",
  "TE",
  "Trailer",
  "Upgrade",
  ...NEVER_RETURNED.map(headerName),
];

/**
 * A `Link` value the native path passes without the module: no `anchor` or `imagesrcset` (the
 * module rewrites or drops those), no control character,
 * and each `<URI>` a relative reference without a scheme, host or backslash.
 */
const PLAIN_LINK =
  "^(?![\\s\\S]*(?:[aA][nN][cC][hH][oO][rR]|[iI][mM][aA][gG][eE][sS][rR][cC][sS][eE][tT]))(?:[^<\\x00-\\x1f]|<(?![/\\\\][/\\\\])[^<>:\\\\\\x00-\\x20]*>)*$";

/**
 * Patterns (nginx, case-insensitive) of a `Link` value that names the origin: its host
 * anywhere, or a reference that starts with ORIGIN_URL's path.
 */
function linkRules(origin: string): string[] {
  const url = new URL(origin);
  const host = url.hostname.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const rules = [`~*${host}`];
  const path = url.pathname.replace(/\/+$/, "").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  if (path !== "") rules.push(`~*(?:<|=\\s*\\x22?)\\s*${path}(?:[/?#>\\x22]|$)`);
  return rules;
}

/**
 * A `map` of the origin's `name` header (`location`, `content_location`) to `target`: by the
 * patterns that decide a plain value alone, else `$tokengate_js_<name>` (the module, asked only
 * then).
 */
function relocationMap(name: string, target: string, origin: string): string[] {
  const source = `$upstream_http_${name}`;
  return [
    `    map ${source} ${target} {`,
    `        default $tokengate_js_${name};`,
    '        "" "";',
    ...plainLocationRules(origin).map(
      ([pattern, replacement]) =>
        `        ${regexString(`~${pattern}`)} ${replacement === "$0" ? source : regexString(replacement)};`,
    ),
    "    }",
  ];
}

/** The request headers the origin may get: the allow-list, then FORWARD_HEADERS' names. */
function forwardedNames(extra: readonly string[]): string[] {
  const names = Object.keys(FORWARDED);
  for (const name of extra) if (names.indexOf(name) < 0) names.push(name);
  return names;
}

/** The `map` from `secure_link`'s answer on a plain link to the refusal nginx makes itself. */
function refusalMap(options: NginxConfOptions): string[] {
  const refusals = nativeRefusals(options);
  if (refusals.length === 0) return [];
  return [
    "    # Refused by nginx itself, as the module would refuse it: a plain link whose token",
    "    # secure_link finds wrong (with one secret and no address-bound form to try) or right",
    "    # but expired (with no EXPIRY_LEEWAY_S). Anything else is the module's.",
    '    map "$tokengate_link:$secure_link" $tokengate_native_refusal {',
    '        default "";',
    ...refusals.map(({ reason, secureLink }) => `        "1:${secureLink}" ${reason};`),
    // A CDN token wrong for the directory may be right for the file: the module's to say.
    ...refusals
      .filter(({ reason }) => reason === "expired")
      .map(({ reason, secureLink }) => `        "2:${secureLink}" ${reason};`),
    // An MP4 link is refused as a stream link is.
    ...(options.settings.gate.mp4Tokens
      ? refusals.map(({ reason, secureLink }) => `        "3:${secureLink}" ${reason};`)
      : []),
    "    }",
  ];
}

/**
 * The `map`s of the native path: whether the request is one nginx decides (GET or HEAD over
 * HTTP/1.x, no Upgrade, no Connection naming a header, a plain stream link whose token
 * secure_link finds right and unexpired), the origin target and log path from the link's
 * parts, and each forwarded header's value unless it holds a byte past ASCII.
 */
function nativeMaps(options: NginxConfOptions): string[] {
  const { settings } = options;
  const { queryPrefixes } = settings.gate;
  const cdn = queryPrefixes === "*" || queryPrefixes.length > 0;
  // BIND_IP=on: the client's address (IPv4 only here, written as the core writes it) is part
  // of the signed string. `optional`: the unbound form here, a bound one the module's.
  const ip = settings.gate.bindIp === "on" ? `\${${clientVar(options)}}` : "";
  // A CDN link's origin target, cache key and log path alike: its path (no token in it).
  const cdnTarget = cdn ? ['        2 "${tq_dir}${tq_file}";'] : [];
  const mp4 = settings.gate.mp4Tokens;
  const mp4Target = mp4 ? ['        3 "${tm_path}";'] : [];
  // CLIENT_SECRETS: a stream or MP4 link is checked with its client's first secret, only when
  // the client has one nginx can check (`$tokengate_client_known`).
  const clients = options.clientSecrets !== undefined;
  const known = clients ? "$tokengate_client_known" : "";
  const flag = clients ? "1" : "";
  const secretVar = clients ? "tokengate_client_secret" : "tokengate_secret";
  // The headers the native path passes on as they came (none with the cache: it asks in no
  // viewer's words): one test of them all here, where a map each cost more than the rest of
  // the header policy.
  const passed =
    options.cacheDir === null
      ? forwardedNames(settings.forwardHeaders).map((name) => `$http_${name.replace(/-/g, "_")}`)
      : [];
  // The request's shape, tested alone: a value joined after the client's address would let a
  // `|` in Connection or Upgrade end the shape early and pass the rest as that value.
  const shape = passed.length > 0 ? "$tokengate_plain_shape" : "$tokengate_plain_request";
  const lines = [
    "    # A request the native path may take: GET or HEAD over HTTP/1.x, without Upgrade (the",
    "    # module refuses it), without a Connection that names headers (the module drops those),",
    "    # from an IPv4 client (REQUESTS_PER_CLIENT counts an IPv6 one by its /64, which the",
    "    # module computes).",
    ...trustedClientMaps(options),
    `    map "$request_method $server_protocol $http_connection|$http_upgrade|$${clientVar(options)}" ${shape} {`,
    '        default "";',
    `        ${regexString("~^(?:GET|HEAD) HTTP/1\\.[01] (?:(?i)keep-alive|close)?\\|\\|[0-9.]+$")} 1;`,
    "    }",
    ...(passed.length > 0
      ? [
          "    # And the headers it passes on all ASCII (the module drops a value past ASCII and",
          "    # sends the rest), read after the shape's own value, which no header can spell.",
          `    map "$tokengate_plain_shape:${passed.join("")}" $tokengate_plain_request {`,
          '        default "";',
          `        ${regexString("~^1:[\\x01-\\x7f]*$")} 1;`,
          "    }",
        ]
      : []),
    "    # The link's parts, when the whole raw target is one the core reads as it is: 1, a",
    "    # stream link; 2, a file with a CDN token (not a manifest, whose text the module rewrites).",
    '    map "$tokengate_plain_request$request_uri" $tokengate_link {',
    '        default "";',
    `        ${regexString(`~^1${plainStreamPattern(settings.gate.prefixes)}`)} 1;`,
    ...(cdn
      ? [
          `        ${regexString(`~^1${plainQueryPattern(settings.gate.queryPrefixes, settings.gate.prefixes)}`)} 2;`,
        ]
      : []),
    ...(mp4 ? [`        ${regexString(`~^1${plainMp4Pattern(settings.gate.prefixes)}`)} 3;`] : []),
    "    }",
    ...(clients ? clientSecretMaps(mp4) : []),
    "    # What secure_link checks, by the form: a stream token, a CDN token for the file's",
    "    # directory (one check a request: a token for the file itself is the module's), an",
    `    # MP4 token${clients ? " (a stream or MP4 token only for a client with a secret here)" : ""}.`,
    `    map "$tokengate_link${known}" $tokengate_sl_token {`,
    '        default "";',
    `        1${flag} $tg_token;`,
    ...(cdn ? [`        ${regexString("~^2")} $tq_md5;`] : []),
    ...(mp4 ? [`        3${flag} $tm_md5;`] : []),
    "    }",
    "    map $tokengate_link $tokengate_sl_expires {",
    '        default "";',
    "        1 $tg_expires;",
    ...(cdn ? ["        2 $tq_expires;"] : []),
    ...(mp4 ? ["        3 $tm_expires;"] : []),
    "    }",
    "    map $tokengate_link $tokengate_sl_string {",
    '        default "";',
    `        1 "\${tg_client}_\${tg_video}_\${${secretVar}}_\${tg_expires}_${ip}";`,
    ...(cdn ? [`        2 "\${tq_expires}\${tq_dir}${ip} \${tokengate_secret}";`] : []),
    ...(mp4
      ? [
          `        3 "\${tm_path}_\${${secretVar}}_\${tm_expires}_\${tm_speed}_\${tm_buffer}_${ip}";`,
        ]
      : []),
    "    }",
    "    secure_link $tokengate_sl_token,$tokengate_sl_expires;",
    "    secure_link_md5 $tokengate_sl_string;",
    "    # Right and unexpired under the first secret; anything else is the module's.",
    '    map "$tokengate_link$secure_link" $tokengate_native {',
    '        default "";',
    "        11 1;",
    ...(cdn ? ["        21 2;"] : []),
    ...(mp4 ? ["        31 3;"] : []),
    "    }",
    ...refusalMap(options),
    ...(settings.cors === undefined ? [] : corsMaps(settings.cors)),
    "    # The answer headers the module rewrites, done here for the native path: Content-Location",
    "    # as Location is (the module asked only for what its patterns cannot decide); a Link",
    "    # that names the origin's host or path dropped, since rewriting it needs the module.",
    "    js_set $tokengate_js_content_location tokengate.contentLocation;",
    ...relocationMap("content_location", "$tokengate_native_content_location", settings.origin),
    "    # A Link whose every reference is plain and relative is passed as it is; one naming the",
    "    # origin otherwise, the module's to rewrite (hosts spelled as a browser reads them).",
    "    js_set $tokengate_js_link tokengate.link;",
    "    map $upstream_http_link $tokengate_native_link {",
    "        default $tokengate_js_link;",
    '        "" "";',
    ...linkRules(settings.origin).map((pattern) => `        ${regexString(pattern)} "";`),
    `        ${regexString(`~${PLAIN_LINK}`)} $upstream_http_link;`,
    "    }",
    "    map $tokengate_link $tokengate_native_target {",
    '        default "";',
    '        1 "/${tg_kind}/${tg_client}_${tg_video}/${tg_file}${tg_query}";',
    ...cdnTarget,
    ...mp4Target,
    "    }",
    ...(options.cacheDir === null
      ? []
      : [
          "    # The cache's key (core/cache-key.ts): the origin path, and with",
          "    # CACHE_KEY_QUERY=all its query (a plain link's path and query are as the key",
          "    # spells them); X-Cache as the module says it.",
          "    map $tokengate_link $tokengate_native_cache_key {",
          '        default "";',
          settings.cache?.keyQuery === "all"
            ? '        1 "/${tg_kind}/${tg_client}_${tg_video}/${tg_file}${tg_query}";'
            : '        1 "/${tg_kind}/${tg_client}_${tg_video}/${tg_file}";',
          ...cdnTarget,
          ...mp4Target,
          "    }",
          "    map $upstream_cache_status $tokengate_x_cache {",
          "        default MISS;",
          "        HIT HIT;",
          "    }",
        ]),
    ...(mp4
      ? [
          "    # An MP4 link's speed and buffer: nginx's limit_rate and limit_rate_after (sizes",
          "    # read as nginx reads them, k and m as 1024 and 1024²).",
          '    map "$tokengate_link:$tm_speed" $tokengate_native_rate {',
          "        default 0;",
          `        ${regexString("~^3:(.+)$")} $1;`,
          "    }",
          '    map "$tokengate_link:$tm_buffer" $tokengate_native_rate_after {',
          "        default 0;",
          `        ${regexString("~^3:(.+)$")} $1;`,
          "    }",
        ]
      : []),
    "    map $tokengate_link $tokengate_native_log {",
    '        default "";',
    '        1 "/${tg_kind}/${tg_client}_${tg_video}/…/${tg_expires}/${tg_file}";',
    ...cdnTarget,
    ...mp4Target,
    "    }",
  ];
  lines.push("");
  return lines;
}
