/**
 * Which request headers the origin may get from a client: the forward list and the names never
 * forwarded, whatever `FORWARD_HEADERS` says. In the core, for settings validation reads them
 * (`FORWARD_HEADERS` may not name one), and the HTTP policy (`http/headers.ts`) applies them.
 * @module
 */

/**
 * Lower-case header names as a lookup table without a prototype (no name can hit an inherited
 * property); a table rather than a `Set` so the nginx module, whose njs has none, shares it.
 */
export function nameTable(names: readonly string[]): Readonly<Record<string, true>> {
  const table: Record<string, true> = Object.create(null);
  for (let i = 0; i < names.length; i++) table[names[i]!] = true;
  return Object.freeze(table);
}

/**
 * The request headers the origin gets from the client (besides the operator's
 * `FORWARD_HEADERS`): what a media request needs, and nothing an origin, framework or proxy
 * could read as a route, a method, an address, an identity or an instruction
 * (`X-Custom-IP-Authorization`, `X-Accel-Redirect`, `X-Sendfile` reached origins by the old
 * deny-list). `If-Match` and `If-Unmodified-Since` are in: they can only narrow an answer to a
 * 412, and a downloader resuming a range uses them not to splice two versions of a file.
 * `Cache-Control` and `Pragma` are out: they speak to the caches on the path, and a viewer's
 * `no-cache` would make an origin's own cache refetch from behind it on every request.
 */
export const FORWARDED = nameTable([
  "range",
  "if-range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "accept",
  "accept-encoding",
  "accept-language",
  "user-agent",
  "referer",
  "origin",
]);

/**
 * Request headers never forwarded, whatever `FORWARD_HEADERS` says (`neverForwarded`
 * refuses them there):
 * - hop-by-hop (RFC 9110 §7.6.1), and the framing of a body the gate never forwards;
 * - `Host`, which must name the origin;
 * - the client's credentials for the gate's own host (`Cookie`, `Authorization`): the token is
 *   the only authority, and an origin that honoured a viewer's cookie would widen a link;
 * - headers that origins, frameworks and proxies read to re-route or re-method a request
 *   (`X-Original-URL` on IIS/Symfony, `X-HTTP-Method-Override` on Express/Rails,
 *   `X-Middleware-Subrequest` on Next.js, `X-Accel-Redirect`/`X-Sendfile` on nginx, Apache and
 *   lighttpd, …);
 * - headers that claim a client address or scheme: the gate sets its own;
 * - a WebSocket handshake's, as no media request upgrades.
 */
const NEVER = nameTable([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "content-type",
  "expect",
  "host",
  "cookie",
  "authorization",
  "x-original-url",
  "x-original-uri",
  "x-rewrite-url",
  "x-original-host",
  "x-host",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
  "x-middleware-subrequest",
  "x-sendfile",
  "x-sendfile-type",
  "x-lighttpd-send-file",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-forwarded-prefix",
  "x-forwarded-server",
  "x-forwarded-scheme",
  "x-real-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "true-client-ip",
  "cf-connecting-ip",
  "cf-connecting-ipv6",
  "fastly-client-ip",
  "via",
  "front-end-https",
  "x-url-scheme",
  "x-scheme",
  "http2-settings",
]);

/**
 * Name patterns never forwarded, beyond the list above: every spelling of forwarding, address,
 * scheme, rewrite, override, authorization and identity headers that a framework, proxy or
 * cloud front may read (`X-Forwarded-Ssl`, `Forwarded-For`, `Max-Forwards`, `Client-IP`,
 * `X-Custom-IP-Authorization`, `X-Azure-ClientIP`, `CloudFront-Viewer-Address`,
 * `X-Proxied-Https`, `X-ARR-SSL`, `CF-Visitor`, `Remote-User`, `X-Auth-Request-Email`,
 * `X-MS-Client-Principal`, `X-SSL-Client-Cert`, `X-Envoy-*`, `X-Accel-*`, `Sec-WebSocket-*`, …).
 */
const NEVER_PATTERNS: readonly RegExp[] = [
  // Anywhere in the name.
  /forward|original|rewrite|override|clientip|socketip|principal|userinfo|authoriz|sendfile/,
  // At its end.
  /(?:-ip|-ipv6|-addr|-address|-ssl|-https|-user|-cert|-email)$/,
  // At its start: proxies, clouds and fronts, and identity as API gateways (Kong), identity
  // proxies (IAP, Pomerium, Tailscale) and frameworks name it.
  /^(?:proxy(?:-|$)|remote-|cf-|x-client-|x-envoy-|x-invoke-|x-azure-|x-arr-|x-sucuri-)/,
  /^(?:x-proxied-|x-ssl-|x-auth-request-|x-webauth-|x-goog-authenticated-|x-amzn-)/,
  /^(?:x-authenticated-|x-consumer-|x-credential-|x-anonymous-|tailscale-|x-pomerium-)/,
  /^(?:x-goog-iap-|x-remote-|x-user(?:name)?(?:-|$)|x-now-|x-accel-|sec-websocket-)/,
  // Routing a framework takes from a front proxy.
  /^(?:x-email|x-matched-path|x-replaced-path|x-script-name)$/,
  // Credentials (the token is the only authority): cookies, tokens, keys, secrets, passwords,
  // auth of any spelling (`X-Api-Key`, `X-Auth-Token`, `X-Amz-Security-Token`, `Cookie2`).
  /cookie|token|secret|passw|apikey|api-key|(?:^|-)auth(?:-|$)|(?:^|-)key$/,
  // Rewrites, identity and loops: a path or URL named by the client (`X-Request-URI`,
  // `Script-Name`), who to act as (`X-Impersonate`), a CDN's loop check, a client's port.
  /(?:^|-)(?:uri|url|script-name)$|impersonat|^cdn-loop$|-port$/,
];

export function matchesAny(patterns: readonly RegExp[], name: string): boolean {
  for (let i = 0; i < patterns.length; i++) if (patterns[i]!.test(name)) return true;
  return false;
}

/**
 * Why a header name (lower case) can never be forwarded, so `FORWARD_HEADERS` may not name it,
 * or undefined when it may be. Names with `_` or `.` never are: CGI, WSGI, PHP and others read
 * `X_Forwarded_For`, and PHP `X.Forwarded.For`, as `X-Forwarded-For` (and nginx ignores names
 * with `_`); nor is any name but letters, digits and `-`, which nginx would ignore.
 *
 * @example
 * ```ts
 * neverForwarded("x-forwarded-host"); // "it claims an address, scheme, route or identity, or is hop-by-hop"
 * neverForwarded("x-playback-session-id"); // undefined
 * ```
 */
export function neverForwarded(name: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) return "a header name is letters, digits and -";
  if (NEVER[name] === true || matchesAny(NEVER_PATTERNS, name)) {
    return "the gate never forwards it (hop-by-hop, framing, Host, credentials, or a header origins read as an address, scheme, route, identity or instruction)";
  }
  return undefined;
}
