/**
 * tokengate inside nginx: an njs module with the same `decide()` as the Worker and the Node
 * server, while nginx carries the bytes. `tokengate nginx-config` prints the `nginx.conf` that
 * wires these functions in:
 * - `status` (`js_set $tokengate_status`): decides the request; nginx then answers the refusal
 *   or proxies `$tokengate_target` with the headers in `$tokengate_forward`;
 * - `headers` (`js_header_filter`): the response header policy, CORS and `X-Cache`;
 * - `body` (`js_body_filter`, with QUERY_TOKEN_PREFIXES): a CDN token carried into the
 *   manifests it grants, as on the other runtimes;
 * and `$tokengate_log_target`, the request target without its token, for the access log.
 * njs 0.7.9 runs a module's top level again for every request and keeps nothing between
 * requests, so everything here is made per request; the build compiles it down to what that
 * njs parses (`build.mjs`), and MD5 is njs's native one.
 * @module
 */
import crypto from "crypto";
import { cacheKey } from "../../core/cache-key.js";
import { decide, MAX_PATH, upgradeRefusal, type GateSettings } from "../../core/decide.js";
import { MANIFEST_MAX_BYTES, propagateManifest } from "../../core/manifest.js";
import { addressRanges, clientAddressOf, clientShareKey } from "../../core/ip.js";
import { splitTarget } from "../../core/link.js";
import { redactLink, redactTarget } from "../../core/redact.js";
import { parseSecrets } from "../../core/settings.js";
import { corsEdit, corsHeaders, preflight, preflightHeaders } from "../../http/cors.js";
import {
  connectionTokens,
  isReturned,
  locationRewriter,
  originRequestHeaders,
  relocated,
} from "../../http/headers.js";
import {
  manifestHeaderEdit,
  manifestPlan,
  manifestRequestHeaders,
  rewritesManifest,
} from "../../http/manifest-headers.js";
import { rejection, type Reason } from "../../http/refusal.js";
import type { NjsCore, NjsRequest } from "./njs.js";
import type { ModuleSettings } from "./settings.js";

/** CLIENT_SECRETS' file as nginx loaded it (`js_preload_object`), when configured. */
declare const tokengate_clients: Readonly<Record<string, unknown>> | undefined;
/** SECRET as nginx's master read it at start or reload (`js_preload_object`), when configured. */
declare const tokengate_secrets: { readonly secrets: readonly string[] } | undefined;
/** The settings nginx loaded from `tokengate-settings.json` (`js_preload_object`). */
declare const tokengate_settings: ModuleSettings | undefined;

const NO_SECRETS: readonly string[] = [];

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** MD5 as tokens use it, from njs's native `crypto` (held equal to the core's by a test). */
function nativeMd5(text: string): string {
  return crypto.createHash("md5").update(text).digest("base64url");
}

/** The settings the printed config has nginx load, once, for every request. */
function moduleSettings(): ModuleSettings {
  if (typeof tokengate_settings !== "object" || tokengate_settings === null) {
    throw new Error("the settings object is not loaded (js_preload_object tokengate_settings)");
  }
  return tokengate_settings;
}

/**
 * The gate's settings for this request. With
 * CLIENT_SECRETS, only the requesting client's entry is read, whatever the table's size.
 */
function gateOf(settings: ModuleSettings, target: string): GateSettings {
  const secret = settings.secretFile === null ? undefined : secretsOf(settings);
  let clientSecrets: Record<string, string[]> | undefined;
  if (settings.clientSecrets) {
    if (typeof tokengate_clients !== "object" || tokengate_clients === null) {
      throw new Error("CLIENT_SECRETS: the client secrets object is not loaded");
    }
    // No inherited keys (`constructor`): the core looks up own keys only, and so does this.
    clientSecrets = Object.create(null) as Record<string, string[]>;
    const id = clientIdOf(target);
    if (id !== undefined && Object.prototype.hasOwnProperty.call(tokengate_clients, id)) {
      const listed = tokengate_clients[id];
      if (typeof listed !== "string")
        throw new Error(`CLIENT_SECRETS: client ${id} is not a string`);
      clientSecrets[id] = parseSecrets("CLIENT_SECRETS", listed);
    }
  }
  // Checked when nginx-config wrote them (gateSettings, as `serve` checks them): checked again
  // here, the checks would cost as much as the decision.
  return {
    secrets: secret ?? NO_SECRETS,
    clientSecrets,
    expiryLeewaySeconds: settings.expiryLeewaySeconds,
    prefixes: plainList(settings.prefixes),
    queryPrefixes: settings.queryPrefixes === "*" ? "*" : plainList(settings.queryPrefixes),
    bindIp: settings.bindIp,
    mp4Tokens: settings.mp4Tokens,
    md5: nativeMd5,
    now: unixNow,
  };
}

/**
 * A list of the preloaded settings as a plain array: njs's preloaded objects are read-only
 * and their lists have none of Array's methods.
 */
function plainList(list: readonly string[]): string[] {
  const copy: string[] = [];
  for (let i = 0; i < list.length; i++) copy.push(list[i]!);
  return copy;
}

/** CORS_ORIGINS as the CORS helpers take it. */
function corsOf(settings: ModuleSettings): "*" | string[] | null {
  return settings.cors === null || settings.cors === "*" ? settings.cors : plainList(settings.cors);
}

/**
 * SECRET's secrets as nginx-config copied them and nginx's master loaded them at start or
 * reload: the copy the native path's secure_link checks too, so both paths answer alike and a
 * rotation is nginx-config again, then a reload.
 */
function secretsOf(settings: ModuleSettings): string[] {
  if (!settings.secretsPreloaded || typeof tokengate_secrets !== "object") {
    throw new Error(
      "SECRET: the secrets object is not loaded (js_preload_object tokengate_secrets)",
    );
  }
  return plainList(tokengate_secrets.secrets);
}

/**
 * The client id a stream or MP4 link would name (before the first `_` of its second segment),
 * as written; decide() checks the rest.
 */
function clientIdOf(target: string): string | undefined {
  const match = /^(?:[a-z][a-z0-9+.-]*:\/\/[^/?#]*)?\/[^/?#]*\/([^/?#_]+)_/i.exec(target);
  return match === null ? undefined : match[1];
}

/**
 * The client's address: the peer, or behind TRUST_PROXY the right-most X-Forwarded-For entry
 * not trusted, read by the one strict parser the Node server uses (an entry that is not an
 * address gives none, and a token bound to an address then cannot verify).
 */
function clientAddress(r: NjsRequest, settings: ModuleSettings): string | undefined {
  if (settings.trustProxy.length === 0) return r.remoteAddress;
  const forwarded: string[] = [];
  const lines = r.rawHeadersIn;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]![0].toLowerCase() === "x-forwarded-for") forwarded.push(lines[i]![1]);
  }
  return clientAddressOf(r.remoteAddress, forwarded, addressRanges(settings.trustProxy));
}

/** Sets a `js_var` variable. */
function put(r: NjsRequest, name: string, value: string): void {
  r.variables[name] = value;
}

/** A refusal or other answer of the gate's own: its reason and body for the config's `return`. */
function answer(r: NjsRequest, reason: Reason): string {
  const refusal = rejection(reason);
  put(r, "tokengate_reason", reason);
  put(r, "tokengate_body", refusal.body);
  return String(refusal.status);
}

/**
 * `js_set $tokengate_status`: what nginx does with the request. `200`: proxy
 * `$tokengate_target`; `manifest`: the same, through the body filter; `204`: a CORS
 * preflight; `403`/`404`/`405`/`410`/`500`: answer
 * `$tokengate_body`.
 */
function status(r: NjsRequest): string {
  put(r, "tokengate_njs", "1");
  const target = r.variables.request_uri ?? "";
  const code = decided(r, target);
  if (r.variables.tokengate_log_target === "") put(r, "tokengate_log_target", redactTarget(target));
  return code;
}

declare const ngx: NjsCore;

/**
 * Writes one of the module's lines to nginx's error log at `alert`: the config takes nothing
 * less from a request, since nginx's own lines there quote the request line, token and all
 * (see conf.ts); njs writes this one without it, and the message never holds a token.
 */
function logLine(message: string): void {
  ngx.log(2, message);
}

/**
 * `js_set $tokengate_js_location` and `$tokengate_js_refresh`: the origin's `Location` and
 * `Refresh` as the client gets them (`relocated`), for both the module's path and the native one
 * (the config hides the origin's and adds these, asking only when there is one): a `map` of
 * nginx's cannot read every spelling of the origin's host a browser reads (`urlAuthority`).
 * Empty when the origin's `Connection` names the header, as the module drops those.
 */
function location(r: NjsRequest): string {
  return relocatedHeader(r, "location", r.variables.upstream_http_location);
}

/** {@link location}, for `Refresh`. */
function refresh(r: NjsRequest): string {
  return relocatedHeader(r, "refresh", r.variables.upstream_http_refresh);
}

/** {@link location}, for a `Link` on the native path that its patterns cannot decide. */
function link(r: NjsRequest): string {
  return relocatedHeader(r, "link", r.variables.upstream_http_link);
}

/** {@link location}, for `Content-Location` on the native path (the module's path relocates it). */
function contentLocation(r: NjsRequest): string {
  return relocatedHeader(r, "content-location", r.variables.upstream_http_content_location);
}

function relocatedHeader(r: NjsRequest, name: string, value: string | undefined): string {
  put(r, "tokengate_njs", "1");
  if (!value) return "";
  const connection = r.variables.upstream_http_connection;
  if (connection && !isReturned(name, connectionTokens(connection))) return "";
  try {
    return relocated(name, value, locationRewriter(moduleSettings().origin));
  } catch {
    // Misconfigured: the answer is the module's 500 anyway; never the origin's address.
    return "";
  }
}

/** What {@link status} returns, the variables for nginx set. */
function decided(r: NjsRequest, target: string): string {
  let settings: ModuleSettings;
  let gate: GateSettings;
  try {
    settings = moduleSettings();
    gate = gateOf(settings, target);
  } catch (error) {
    // The error names the setting or file; never a secret (parseSecrets' messages show none).
    logLine(`tokengate: misconfigured: ${(error as Error).message}`);
    return answer(r, "misconfigured");
  }
  const length = splitTarget(target).path.length;
  // decide() reads no path this long (a 403 under a prefix): neither does the log.
  if (length > MAX_PATH) put(r, "tokengate_log_target", `(a path of ${length} characters)`);
  // nginx reads a request line that a raw LF ends early as HTTP/0.9 (no headers either way);
  // no player speaks it, and the other runtimes' parsers refuse such a line.
  if (r.httpVersion === "0.9") return answer(r, "malformed");
  // With the client's Upgrade, nginx turns an origin's 101 into a raw tunnel to the origin,
  // past every check: no media request upgrades, so none that asks to is proxied.
  const upgrade = upgradeRefusal(target, gate, r.headersIn.Upgrade);
  if (upgrade !== undefined && upgrade.action === "reject") return answer(r, upgrade.reason);
  if (preflight(corsOf(settings) ?? undefined, gate, r.method, target, null) !== undefined) {
    put(r, "tokengate_reason", "preflight");
    return "204";
  }
  const client = clientAddress(r, settings);
  // REQUESTS_PER_CLIENT's key (limit_conn): this address (an IPv6 one's /64), or with none
  // (junk X-Forwarded-For behind a trusted proxy) the peer's, as the Node server counts.
  put(r, "tokengate_client", clientShareKey(client ?? r.remoteAddress));
  const decision = decide(r.method, target, gate, client);
  if (decision.action === "pass") return answer(r, "not-found");
  if (decision.action === "reject") return answer(r, decision.reason);
  put(r, "tokengate_target", decision.target);
  if (settings.cache) {
    const rule = settings.cacheKeyQuery;
    const key = cacheKey(decision.target, typeof rule === "string" ? rule : plainList(rule));
    // No key: conf.ts's proxy_cache_bypass and proxy_no_cache pass it through uncached.
    put(r, "tokengate_cache_key", key === undefined ? decision.target : key);
    if (key === undefined) put(r, "tokengate_cache_bypass", "1");
  }
  if (decision.form === "stream") put(r, "tokengate_log_target", redactLink(decision.link));
  const propagate = decision.form === "query" ? decision.propagate : "";
  put(r, "tokengate_propagate", propagate);
  // A manifest the token is to be carried into is asked for whole and uncompressed: its text
  // is rewritten.
  const manifest = rewritesManifest(propagate, splitTarget(target).path);
  put(r, "tokengate_forward", forwardedHeaders(r, settings, client, manifest));
  if (decision.form === "mp4") {
    if (decision.rate.speed !== undefined)
      put(r, "tokengate_limit_rate", String(decision.rate.speed));
    if (decision.rate.buffer !== undefined) {
      put(r, "tokengate_limit_rate_after", String(decision.rate.buffer));
    }
  }
  // A manifest goes through the body filter, in a location of its own (the config's
  // `@tokengate_manifest`): nothing else pays for it.
  return manifest ? "manifest" : "200";
}

/**
 * The origin request's headers after the first one's name, which the config writes
 * (`proxy_set_header X-Forwarded-Proto $tokengate_forward`): its value, then each further
 * header as a line of its own. The one header policy of `src/http/headers.ts` decides which
 * client headers go on; none it passes holds a line break (nginx refuses those in requests,
 * and the policy drops any value with CR, LF, NUL or a byte past ASCII), and every name is
 * letters, digits and `-` (the config has nginx ignore any other name; the policy allows none).
 * Not `proxy_set_header Name $http_name` per allowed name: nginx would then forward a header
 * the request's `Connection` names and a value past ASCII, where the other runtimes do not.
 */
function forwardedHeaders(
  r: NjsRequest,
  settings: ModuleSettings,
  client: string | undefined,
  manifest: boolean,
): string {
  const proto = r.variables.scheme === "https" ? "https" : "http";
  // What nginx's cache keeps is everyone's: asked for in no viewer's words (as the Node
  // server's cache asks), uncompressed; ranges and conditions are nginx's to answer.
  if (settings.cache) return `${proto}\r\nAccept-Encoding: identity`;
  const policy = originRequestHeaders(
    r.rawHeadersIn,
    { address: client, proto },
    plainList(settings.forwardHeaders),
  );
  const pairs = manifest ? manifestRequestHeaders(policy) : policy;
  let block = proto;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    if (pair[0].toLowerCase() === "x-forwarded-proto") continue;
    block += `\r\n${pair[0]}: ${pair[1]}`;
  }
  return block;
}

/**
 * `js_header_filter`: the response headers. Answers of the gate's own get `Cache-Control:
 * no-store`, `nosniff` (and `Allow` for 405) as on the other runtimes; the origin's answers
 * lose hop-by-hop headers and those its `Connection` names. With CORS_ORIGINS, every answer
 * under a guarded prefix gets the CORS headers (the origin's own dropped) and a refusal its
 * `Tokengate-Reason`.
 */
function headers(r: NjsRequest): void {
  put(r, "tokengate_njs", "1");
  let settings: ModuleSettings;
  try {
    settings = moduleSettings();
  } catch {
    return;
  }
  const out = r.headersOut;
  const reason = r.variables.tokengate_reason || r.variables.tokengate_error || "";
  if (reason === "preflight") {
    setAll(out, preflightHeaders(corsOf(settings) ?? "*", r.variables.http_origin));
    return;
  }
  if (reason !== "") {
    const fixed = rejection(reason as Reason).headers;
    for (const name of Object.keys(fixed)) {
      if (name !== "content-length") out[name] = fixed[name];
    }
  } else {
    // The config hides the fixed hop-by-hop headers (proxy_hide_header); those the origin's
    // Connection names are known only now.
    const connection = r.variables.upstream_http_connection;
    if (connection) {
      const named = connectionTokens(connection);
      for (const name of Object.keys(out)) {
        if (!isReturned(name.toLowerCase(), named)) delete out[name];
      }
    }
    if (settings.cache)
      out["X-Cache"] = r.variables.upstream_cache_status === "HIT" ? "HIT" : "MISS";
    manifestHeaders(r);
    relocateHeaders(out, settings.origin);
  }
  // CORS on what a guarded request gets: grants, refusals, origin failures; not on a 404
  // outside the prefixes or a 500 of a misconfigured gate.
  if (settings.cors === null || reason === "not-found" || reason === "misconfigured") return;
  const refusal = reason === "" ? undefined : (reason as Reason);
  setAll(out, corsHeaders(corsOf(settings)!, r.variables.http_origin, refusal), true);
}

/**
 * `Content-Location` and `Link` by the rules of `Location` (`relocated`): they name the
 * origin's address as readily. (`Location` and `Refresh` are the config's, on both paths:
 * {@link location}.)
 */
function relocateHeaders(out: NjsRequest["headersOut"], origin: string): void {
  const names = ["Content-Location", "Link"];
  let relocate: ((location: string) => string) | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = out[name];
    if (value === undefined || value === null) continue;
    relocate ??= locationRewriter(origin);
    const lower = name.toLowerCase();
    if (Array.isArray(value)) {
      const values: string[] = [];
      for (let k = 0; k < value.length; k++) {
        const shown = relocated(lower, value[k]!, relocate);
        if (shown !== "" || value[k] === "") values.push(shown);
      }
      out[name] = values;
    } else {
      const shown = relocated(lower, String(value), relocate);
      // Dropped by the rewriter (a host it cannot tell from the origin's): not sent at all.
      if (shown === "" && String(value) !== "") delete out[name];
      else out[name] = shown;
    }
  }
}

/**
 * Sets each header by the CORS rule (`corsEdit`); `Vary` is merged with what is there, and with
 * `cors` the origin's `Access-Control-*` headers are dropped first.
 */
function setAll(
  out: NjsRequest["headersOut"],
  pairs: readonly (readonly [string, string])[],
  cors = false,
): void {
  const current = out.Vary;
  const vary = Array.isArray(current) ? current.join(", ") : (current ?? "");
  const edit = corsEdit(Object.keys(out), vary, pairs, cors);
  for (let i = 0; i < edit.drop.length; i++) delete out[edit.drop[i]!];
  for (let i = 0; i < edit.set.length; i++) {
    const name = edit.set[i]![0];
    out[name === "vary" ? "Vary" : name] = edit.set[i]![1];
  }
}

/**
 * For a grant whose CDN token goes on into the manifest it answers: whether this answer is
 * one (by path or Content-Type, uncompressed, 200), told to the body filter through
 * `$tokengate_manifest`. Its length changes, so it goes without `Content-Length`; its `ETag`
 * becomes weak and its `Cache-Control` private (nginx sends headers before the body shows
 * whether the text changes).
 */
function manifestHeaders(r: NjsRequest): void {
  if (!r.variables.tokengate_propagate) return;
  const out = r.headersOut;
  const type = out["Content-Type"];
  const plan = manifestPlan(
    r.status,
    splitTarget(r.variables.request_uri ?? "").path,
    typeof type === "string" ? type : undefined,
    String(out["Content-Encoding"] ?? "identity"),
  );
  if (plan === undefined) return;
  if ("unchanged" in plan) return logLine(`tokengate: manifest-unchanged: ${plan.unchanged}`);
  // Private even if the text stays the same, which only the body shows.
  const etag = out.ETag;
  const control = out["Cache-Control"];
  const edit = manifestHeaderEdit(
    Object.keys(out),
    typeof etag === "string" ? etag : undefined,
    Array.isArray(control) ? control.join(", ") : typeof control === "string" ? control : undefined,
  );
  for (let i = 0; i < edit.drop.length; i++) delete out[nginxName(edit.drop[i]!)];
  for (let i = 0; i < edit.set.length; i++) out[nginxName(edit.set[i]![0])] = edit.set[i]![1];
  if (r.method !== "HEAD") put(r, "tokengate_manifest", plan.kind);
}

/** The names the module set these headers by before the rules were shared; others as given. */
function nginxName(name: string): string {
  if (name === "content-length") return "Content-Length";
  if (name === "etag") return "ETag";
  return name === "cache-control" ? "Cache-Control" : name;
}

/**
 * What the body filter holds of a manifest until its end. njs gives each request a VM of its
 * own, so this is this request's alone.
 */
const held: { chunks: Uint8Array[]; size: number; passing: boolean } = {
  chunks: [],
  size: 0,
  passing: false,
};

/**
 * `js_body_filter` (QUERY_TOKEN_PREFIXES): a manifest answer is held whole (up to
 * MANIFEST_MAX_BYTES), then passed on with the token on its relative URIs; anything else, or a
 * manifest too big or left unchanged (see `propagateHls`/`propagateDash`), as it came.
 */
function body(r: NjsRequest, data: Uint8Array, flags: { last: boolean }): void {
  put(r, "tokengate_njs", "1");
  const kind = r.variables.tokengate_manifest;
  if (!kind || held.passing) {
    r.sendBuffer(data, flags);
    return;
  }
  held.chunks.push(data);
  held.size += data.length;
  if (held.size > MANIFEST_MAX_BYTES) {
    logLine(
      `tokengate: manifest-unchanged: over ${MANIFEST_MAX_BYTES} bytes: passed on without the token`,
    );
    held.passing = true;
    r.sendBuffer(Buffer.concat(held.chunks), flags);
    held.chunks = [];
    return;
  }
  if (!flags.last) return;
  const bytes = Buffer.concat(held.chunks);
  held.chunks = [];
  const result = propagateManifest(
    bytes,
    kind === "hls" ? "hls" : "dash",
    r.variables.tokengate_propagate ?? "",
  );
  if ("unchanged" in result) {
    logLine(`tokengate: manifest-unchanged: ${result.unchanged}: passed on without the token`);
    r.sendBuffer(bytes, flags);
  } else {
    r.sendBuffer(result.text, flags);
  }
}

export default { status, headers, body, location, refresh, contentLocation, link };
