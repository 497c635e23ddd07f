/**
 * A CDN secure token's parameters carried into the manifest an origin answers with (the
 * Worker's side; the Node server does the same in its origin leg): `src/core/manifest.ts`
 * rewrites, this reads the answer (at most `MANIFEST_MAX_BYTES`) and fixes its headers.
 * @module
 */
import { MANIFEST_MAX_BYTES, propagateManifest } from "../core/manifest.js";
import { manifestHeaderEdit, manifestPlan } from "./manifest-headers.js";

/**
 * The origin's answer with `params` appended to the relative URIs of the HLS or DASH manifest
 * it carries; any other answer as it is. A manifest over `MANIFEST_MAX_BYTES`, or one the
 * rewrite leaves alone (see `propagateHls`/`propagateDash`), passes unchanged and `onUnchanged`
 * is told why. The rewritten answer has its new `Content-Length`, a weak `ETag` and a private
 * `Cache-Control` (`privateCacheControl`). (workerd's
 * fetch has already undone any `Content-Encoding`, and encodes the new body again.)
 *
 * @example
 * ```ts
 * return propagated(await fetch(url), "/videos/v-1/index.m3u8", grant.propagate, log);
 * ```
 */
export async function propagated(
  response: Response,
  path: string,
  params: string,
  onUnchanged: (why: string) => void,
): Promise<Response> {
  const onTooBig = (bytes: number) =>
    onUnchanged(`${bytes} bytes, over ${MANIFEST_MAX_BYTES}: passed on without the token`);
  // workerd's fetch has undone any coding: the body is text whatever Content-Encoding says.
  const plan = manifestPlan(
    response.status,
    path,
    response.headers.get("content-type") ?? undefined,
    undefined,
  );
  if (plan === undefined || "unchanged" in plan) return response;
  const kind = plan.kind;
  const headers = new Headers(response.headers);
  const edit = manifestHeaderEdit(
    [...headers.keys()],
    headers.get("etag") ?? undefined,
    headers.get("cache-control") ?? undefined,
  );
  for (const name of edit.drop) headers.delete(name);
  for (const [name, value] of edit.set) headers.set(name, value);
  // HEAD: the rewritten length is not known without the body, so it goes without one.
  if (response.body === null) {
    return new Response(null, { status: 200, statusText: response.statusText, headers });
  }
  const stated = Number(response.headers.get("content-length") ?? NaN);
  if (stated > MANIFEST_MAX_BYTES) {
    onTooBig(stated);
    return response;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > MANIFEST_MAX_BYTES) {
      onTooBig(size);
      // What was read, then the rest, unchanged.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk);
        },
        async pull(controller) {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return new Response(body, {
        status: 200,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const result = propagateManifest(bytes, kind, params);
  if ("unchanged" in result) {
    onUnchanged(`${result.unchanged}: passed on without the token`);
    // Unchanged bytes keep the origin's headers, its strong ETag included.
    return new Response(bytes, {
      status: 200,
      statusText: response.statusText,
      headers: response.headers,
    });
  }
  const out = new TextEncoder().encode(result.text);
  headers.set("content-length", String(out.byteLength));
  return new Response(out, { status: 200, statusText: response.statusText, headers });
}
