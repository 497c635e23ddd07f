/**
 * Red team: with CORS_ORIGINS set, an `OPTIONS` under a guarded prefix is answered 204 before
 * `decide()` runs, so two rules docs/security.md says hold "on every runtime, by one rule in
 * src/core/decide.ts" do not hold for it:
 *
 * - "a request under a prefix that asks to upgrade (any `Upgrade` header) is 403, before its
 *   method or token is looked at";
 * - "a path over 1024 characters under a prefix is 403 (404 outside), even a signer's link, and
 *   is never read".
 *
 * Without CORS_ORIGINS the same requests are 403 (checked below as the control), so the answer
 * to an upgrade request or an over-long path depends on an unrelated setting. No origin is
 * contacted either way (a preflight never is), so the impact is a broken documented guarantee,
 * not a bypass to the origin. Cause: `answer()` in src/adapter/node/server.ts calls
 * `preflight()` ahead of `upgradeRefusal()`/`decide()`.
 *
 * Compared with the Worker (Miniflare, same settings): the Worker answers the OPTIONS with
 * `Upgrade: websocket` 403 (it refuses the upgrade first), so for that request the Node server
 * also breaks docs/node.md's "answers refusals, 404s and preflights from the same policy … a
 * test holds them to the Worker's byte for byte". The over-long OPTIONS is 204 on both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawExchange, requestBytes as request } from "../../helpers/raw-exchange.js";
import { SECRET } from "../../helpers/links.js";
import { staticOrigin, type StaticOrigin } from "../../helpers/static-origin.js";
import { serve, type Served } from "../../helpers/serve.js";

const PLAYER = "https://player.example";

const LONG = `/videos/2675_abc/${"a".repeat(1100)}`;

describe("red team: a CORS preflight skips the Upgrade and path-length rules", () => {
  let origin: StaticOrigin;
  let withCors: Served;
  let withoutCors: Served;

  beforeAll(async () => {
    origin = await staticOrigin();
    [withCors, withoutCors] = await Promise.all([
      serve({ ORIGIN_URL: origin.url, SECRET, CORS_ORIGINS: PLAYER }),
      serve({ ORIGIN_URL: origin.url, SECRET }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([withCors?.stop(), withoutCors?.stop()]);
    await origin?.close();
  });

  it("control: without CORS_ORIGINS, OPTIONS with Upgrade and OPTIONS with a 1100-char path are 403", async () => {
    const upgrade = await rawExchange(
      withoutCors.port,
      request("OPTIONS", "/videos/2675_abc/x", ["Upgrade: websocket"]),
    );
    const long = await rawExchange(withoutCors.port, request("OPTIONS", LONG));
    expect([upgrade.status, long.status]).toEqual([403, 403]);
  });

  it("an OPTIONS under a prefix that asks to upgrade is 403 (docs/security.md), not a 204 preflight", async () => {
    const answer = await rawExchange(
      withCors.port,
      request("OPTIONS", "/videos/2675_abc/x", [
        `Origin: ${PLAYER}`,
        "Access-Control-Request-Method: GET",
        "Upgrade: websocket",
        "Connection: Upgrade",
      ]),
    );
    // Got: 204 with the preflight's headers.
    expect(answer.status).toBe(403);
  });

  it("an OPTIONS under a prefix whose path is over 1024 characters is 403 (docs/security.md), not a 204 preflight", async () => {
    const answer = await rawExchange(
      withCors.port,
      request("OPTIONS", LONG, [`Origin: ${PLAYER}`, "Access-Control-Request-Method: GET"]),
    );
    // Got: 204 with the preflight's headers.
    expect(answer.status).toBe(403);
  });
});
