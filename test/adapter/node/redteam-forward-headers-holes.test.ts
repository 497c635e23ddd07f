/**
 * Red team: docs/security.md says `FORWARD_HEADERS` "may name no forwarding, address, scheme,
 * rewrite, override, credential or identity header", and docs/configuration.md that "a header
 * never forwarded (hop-by-hop, Host, Cookie, Authorization, X-Forwarded-*…) is refused" at
 * start with one line naming the setting (exit code 2). The refusal is a deny-list of names and
 * patterns (`NEVER`/`NEVER_PATTERNS` in src/http/headers.ts), and common spellings in those very
 * categories pass it, so `tokengate serve` starts and forwards a viewer's value to the origin:
 *
 * - credentials, refused for the same reason as Cookie/Authorization ("the token is the only
 *   authority; an origin honouring a viewer's credentials would widen a link"): `X-Api-Key`,
 *   `X-Auth-Token`, `X-Amz-Security-Token` (S3/MinIO origins read it), `Cookie2`;
 * - rewrite/route: `X-Request-URI`, `Script-Name` (`X-Script-Name` is refused);
 * - identity: `X-Impersonate`;
 * - forwarding: `CDN-Loop` (RFC 8586);
 * - address: `X-Real-Port` (`X-Client-Port` and `X-Forwarded-Port` are refused).
 *
 * Severity: low (needs the operator to list such a name), but the start-up refusal is the
 * documented safety net for exactly that mistake.
 */
import { describe, expect, it } from "vitest";
import { SECRET } from "../../helpers/links.js";
import { run } from "../../helpers/serve.js";

const HOLES = [
  "X-Api-Key",
  "X-Auth-Token",
  "X-Amz-Security-Token",
  "Cookie2",
  "X-Request-URI",
  "Script-Name",
  "X-Impersonate",
  "CDN-Loop",
  "X-Real-Port",
];

/** Exit code of `serve` with FORWARD_HEADERS set to `name` (null: it started and was stopped). */
async function startWith(name: string): Promise<{ code: number | null; stderr: string }> {
  const child = run(["serve", "--port", "0"], {
    ORIGIN_URL: "http://127.0.0.1:9",
    SECRET,
    FORWARD_HEADERS: name,
  });
  const started = child
    .waitFor(/listening on/, 10_000)
    .then(() => true)
    .catch(() => false);
  const result = await Promise.race([started, child.exited.then(() => false)]);
  if (result) {
    await child.stop();
    return { code: null, stderr: child.stderr.join("") };
  }
  return { code: await child.exited, stderr: child.stderr.join("") };
}

describe("red team: FORWARD_HEADERS names the start-up check lets through", () => {
  it("control: X-Forwarded-Host and X-Script-Name are refused with exit code 2", async () => {
    for (const name of ["X-Forwarded-Host", "X-Script-Name"]) {
      const { code, stderr } = await startWith(name);
      expect(code, name).toBe(2);
      expect(stderr).toContain("FORWARD_HEADERS");
    }
  });

  for (const name of HOLES) {
    it(`refuses to start with FORWARD_HEADERS=${name}`, async () => {
      const { code } = await startWith(name);
      // Got: it starts (null) and would forward the viewer's header.
      expect(code).toBe(2);
    });
  }
});
