/**
 * The parts of njs's HTTP request object (`r`) the nginx module uses, as njs 0.7.9 documents
 * them (https://nginx.org/en/docs/njs/reference.html#http). Declared here rather than taken
 * from `njs-types`, whose globals would clash with Node's and the Workers' in one project.
 * @module
 */

/** An nginx HTTP request as njs hands it to `js_set`, `js_header_filter` and `js_body_filter`. */
export interface NjsRequest {
  readonly method: string;
  /** `0.9`, `1.0`, `1.1` or `2.0`. */
  readonly httpVersion: string;
  /** The client's request headers by name (the first of each). */
  readonly headersIn: Record<string, string | undefined>;
  /** Response status: the origin's, or the one a `return` gave. */
  readonly status: number;
  readonly remoteAddress: string;
  /** The client's header lines in order, as name/value pairs. */
  readonly rawHeadersIn: readonly (readonly [string, string])[];
  /** Response headers, changeable in a header filter; `undefined` for an absent one. */
  readonly headersOut: Record<string, string | string[] | undefined>;
  /** nginx variables; those declared with `js_var` can be written. */
  readonly variables: Record<string, string | undefined>;
  /** Writes a line to nginx's error log at `error` level. */
  error(message: string): void;
  /** Writes a line to nginx's error log at `warn` level. */
  warn(message: string): void;
  /** Passes a piece of the body on from a body filter. */
  sendBuffer(data: string | Uint8Array, options?: { last?: boolean; flush?: boolean }): void;
}

/**
 * njs's `ngx` object: `log` writes a line to nginx's error log at a level of nginx's numbering
 * (1 emerg, 2 alert, 3 crit, 4 error, 5 warn), without the request line nginx adds to its own.
 */
export interface NjsCore {
  log(level: number, message: string): void;
}
