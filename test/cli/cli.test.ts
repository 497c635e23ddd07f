import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../helpers/http.js";
import { startOrigin, type Origin } from "../helpers/origin.js";
import { CLI, serve, type Served } from "../helpers/serve.js";

const SECRET = "cli-secret";
const secretFile = join(mkdtempSync(join(tmpdir(), "tokengate-")), "secret");
writeFileSync(secretFile, SECRET + "\n");
afterAll(() => rmSync(dirname(secretFile), { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: "utf8",
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("tokengate sign", () => {
  it.each([
    ["--ttl", "S3cr3t-canary"],
    ["--kind", "S3cr3t-canary/x"],
    ["--file", "/S3cr3t-canary"],
    ["--expires", "S3cr3t-canary"],
    ["--base", "S3cr3t-canary"],
  ])("never shows the secret when %s holds it (outside attack)", (flag, value) => {
    const run = cli(["sign", "--client", "1", "--video", "v", flag, value], {
      SECRET: "S3cr3t-canary",
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^tokengate: sign: /);
    expect(run.stderr).not.toContain("S3cr3t-canary");
  });

  // Its --help listed --client-secrets-file, and sign refused the flag as unknown.
  it("signs a client's link with its first secret from --client-secrets-file, as check reads it", () => {
    const file = join(dirname(secretFile), "sign-clients.json");
    writeFileSync(file, JSON.stringify({ "2675": "tenant-new tenant-old" }));
    const expires = String(Math.floor(Date.now() / 1000) + 3600);
    const base = ["sign", "--client", "2675", "--video", "v1", "--expires", expires];
    const run = cli([...base, "--client-secrets-file", file]);
    expect([run.code, run.stderr]).toEqual([0, ""]);
    const token = createHash("md5").update(`2675_v1_tenant-new_${expires}_`).digest("base64url");
    expect(run.stdout).toBe(`/videos/2675_v1/${token}/${expires}/master.m3u8\n`);
    const checked = cli(["check", run.stdout.trim(), "--client-secrets-file", file]);
    expect([checked.code, checked.stdout.split("\n")[0]]).toEqual([
      0,
      expect.stringMatching(/^200 valid/),
    ]);
    // From the environment too; SECRET is not what signs a listed client's link.
    const fromEnv = cli(base, { CLIENT_SECRETS_FILE: file, SECRET: "global" });
    expect(fromEnv.stdout).toBe(run.stdout);
    // A client not listed: the gate refuses its every link, so none is printed.
    const unlisted = cli(
      ["sign", "--client", "9", "--video", "v1", "--client-secrets-file", file],
      {
        SECRET: "global",
      },
    );
    expect([unlisted.code, unlisted.stdout]).toEqual([2, ""]);
    expect(unlisted.stderr).toMatch(/^tokengate: sign: client 9 is not in CLIENT_SECRETS/);
    // A CDN token is signed with SECRET, whatever CLIENT_SECRETS holds.
    const cdn = cli(["sign", "--path", "/videos/v1/", "--client-secrets-file", file], {
      SECRET: "global",
    });
    expect(cdn.code).toBe(0);
    expect(cdn.stdout).toBe(
      cli(["sign", "--path", "/videos/v1/", "--expires", cdn.stdout.split("expires=")[1]!.trim()], {
        SECRET: "global",
      }).stdout,
    );
  });

  // --base was checked for stream links only: a CDN or MP4 link took a query or any scheme.
  it.each([
    ["a CDN token", ["--path", "/videos/v1/"]],
    ["an MP4 link", ["--client", "1", "--video", "v", "--mp4", "--file", "a.mp4"]],
    ["a stream link", ["--client", "1", "--video", "v"]],
  ])("checks --base alike for %s", (_, form) => {
    for (const bad of ["https://cdn.example/?x=1", "ftp://cdn.example", "cdn.example"]) {
      const run = cli(["sign", ...form, "--base", bad], { SECRET });
      expect([bad, run.code, run.stdout]).toEqual([bad, 2, ""]);
      expect(run.stderr).toMatch(/^tokengate: sign: baseUrl must be/);
    }
    const good = cli(["sign", ...form, "--base", "https://cdn.example/gate/"], { SECRET });
    expect(good.stdout).toMatch(/^https:\/\/cdn\.example\/gate\/(videos|cmaf|mpegts)\//);
  });

  it("prints the link Gcore's snippet makes, reading the secret from a file", () => {
    const run = cli([
      "sign",
      "--client",
      "2675",
      "--video",
      "3dk4NsRt6vWsffEr",
      "--expires",
      "1861919999",
      "--secret-file",
      secretFile,
    ]);
    expect(run.code).toBe(0);
    // Gcore's snippet: MD5 of "client_video_secret_expires_", base64 with + / = made URL-safe.
    const token = createHash("md5")
      .update(`2675_3dk4NsRt6vWsffEr_${SECRET}_1861919999_`)
      .digest("base64")
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=/g, "");
    expect(run.stdout).toBe(`/videos/2675_3dk4NsRt6vWsffEr/${token}/1861919999/master.m3u8\n`);
  });

  it("reads the secret from SECRET and honours --base, --kind, --file and --ttl", () => {
    const before = Math.floor(Date.now() / 1000);
    const run = cli(
      [
        "sign",
        "--client",
        "7",
        "--video",
        "v_1",
        "--kind",
        "cmaf",
        "--file",
        "720/init.mp4",
        "--ttl",
        "15m",
        "--base",
        "https://cdn.example.com",
      ],
      { SECRET },
    );
    expect(run.code).toBe(0);
    const match =
      /^https:\/\/cdn\.example\.com\/cmaf\/7_v_1\/[A-Za-z0-9_-]{22}\/(\d+)\/720\/init\.mp4\n$/.exec(
        run.stdout,
      );
    expect(match).not.toBeNull();
    expect(Number(match![1]) - before).toBeGreaterThanOrEqual(900);
    expect(Number(match![1]) - before).toBeLessThanOrEqual(902);
  });

  it.each([
    ["no secret", ["sign", "--client", "1", "--video", "a"], /no secret/],
    ["no client", ["sign", "--video", "a", "--secret-file", secretFile], /--client is required/],
    [
      "a --secret flag",
      ["sign", "--client", "1", "--video", "a", "--secret", "x"],
      /Unknown option '--secret'/,
    ],
    [
      "both ttl and expires",
      [
        "sign",
        "--client",
        "1",
        "--video",
        "a",
        "--ttl",
        "1h",
        "--expires",
        "5",
        "--secret-file",
        secretFile,
      ],
      /not both/,
    ],
    [
      "a bad ttl",
      ["sign", "--client", "1", "--video", "a", "--ttl", "1w", "--secret-file", secretFile],
      /ttl/,
    ],
    [
      "a client with _",
      ["sign", "--client", "1_2", "--video", "a", "--secret-file", secretFile],
      /clientId/,
    ],
    [
      "a missing secret file",
      ["sign", "--client", "1", "--video", "a", "--secret-file", "/nonexistent"],
      /cannot read/,
    ],
    ["an unknown command", ["frobnicate"], /unknown command/],
  ])("exits 2 with one line for %s", (_, args, message) => {
    const run = cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("says in --help that there is no --secret flag, and why", () => {
    const run = cli(["sign", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/no --secret flag \(shell history, ps\)/);
  });

  it.each(["serve", "check"])("has --help for %s", (command) => {
    const run = cli([command, "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Usage: tokengate ${command}`));
  });
});

describe("tokengate check", () => {
  const NOW = 1_800_000_000;
  const sign = (expires: number, extra: string[] = []) =>
    cli(
      [
        "sign",
        "--client",
        "2675",
        "--video",
        "abc",
        "--expires",
        String(expires),
        "--base",
        "https://cdn.example.com",
        // Checked at a fixed --now, so some of these expires are in the real past.
        "--force",
        ...extra,
      ],
      { SECRET },
    ).stdout.trim();

  it("says 200 and until when for a valid link", () => {
    const run = cli(["check", sign(NOW + 2 * 365 * 86_400), "--now", String(NOW)], { SECRET });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      "200 valid until 2029-01-14T08:00:00Z (in 2 years)\n  form     stream link\n",
    );
  });

  it("signs with the first of several secrets and says which one a link verified with", () => {
    const both = { SECRET: `new-secret, ${SECRET}` };
    const signed = cli(
      ["sign", "--client", "2675", "--video", "abc", "--expires", String(NOW + 60), "--force"],
      both,
    ).stdout.trim();
    expect(cli(["check", signed, "--now", String(NOW)], { SECRET: "new-secret" }).code).toBe(0);
    const newest = cli(["check", signed, "--now", String(NOW)], both);
    expect(newest.stdout).toMatch(/\n {2}secret {3}1 of 2 \(the newest, which signs\)\n$/);
    const older = cli(["check", sign(NOW + 60), "--now", String(NOW)], both);
    expect(older.code).toBe(0);
    expect(older.stdout).toMatch(
      /\n {2}secret {3}2 of 2 \(an older one: its links stop verifying when it is retired\)\n$/,
    );
  });

  it("counts EXPIRY_LEEWAY_S and per-client secrets as the gate does", () => {
    const late = cli(["check", sign(NOW - 30), "--now", String(NOW)], {
      SECRET,
      EXPIRY_LEEWAY_S: "60",
    });
    expect(late.code).toBe(0);
    expect(late.stdout).toMatch(/^200 valid until .*: expired 30 s ago, within EXPIRY_LEEWAY_S/);
    const tenants = {
      SECRET: "shared",
      CLIENT_SECRETS: JSON.stringify({ "2675": `other ${SECRET}` }),
    };
    const own = cli(["check", sign(NOW + 60), "--now", String(NOW)], tenants);
    expect(own.code).toBe(0);
    expect(own.stdout).toMatch(/secret {3}2 of 2/);
    const unlisted = cli(["check", sign(NOW + 60), "--now", String(NOW)], {
      ...tenants,
      CLIENT_SECRETS: JSON.stringify({ "9001": SECRET }),
    });
    expect(unlisted.stdout).toMatch(/^403 token does not match/);
    expect(unlisted.stdout).toMatch(/client {3}2675 is not in CLIENT_SECRETS/);
    // Outside attack: with SECRET holding two secrets too, check named SECRET's list, which
    // stream links never use under CLIENT_SECRETS, and called an old tenant secret the newest.
    const both = {
      SECRET: "shared-new shared-old",
      CLIENT_SECRETS: JSON.stringify({ "2675": `other ${SECRET}` }),
    };
    const tenantOld = cli(["check", sign(NOW + 60), "--now", String(NOW)], both);
    expect(tenantOld.stdout).toMatch(/secret {3}2 of 2 \(client 2675's; an older one/);
    // From a file, and with no SECRET at all.
    const file = join(dirname(secretFile), "clients.json");
    writeFileSync(file, JSON.stringify({ "2675": SECRET }));
    const fromFile = cli([
      "check",
      sign(NOW + 60),
      "--now",
      String(NOW),
      "--client-secrets-file",
      file,
    ]);
    expect([fromFile.code, fromFile.stdout.split("\n")[0]]).toEqual([
      0,
      expect.stringMatching(/^200 valid/),
    ]);
    writeFileSync(file, JSON.stringify({ "9001": SECRET }));
    const unlistedFile = cli(["check", sign(NOW + 60), "--now", String(NOW)], {
      CLIENT_SECRETS_FILE: file,
    });
    expect([unlistedFile.code, unlistedFile.stdout.split("\n")[0]]).toEqual([
      1,
      expect.stringMatching(/^403 token does not match/),
    ]);
  });

  it("says 410 and how long ago for an expired link", () => {
    const run = cli(["check", sign(NOW - 3 * 3600), "--now", String(NOW)], { SECRET });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^410 expired 3 h ago/);
  });

  it("says 403 and what to check for a token that does not match", () => {
    const run = cli(["check", sign(NOW + 60), "--now", String(NOW)], { SECRET: "another-secret" });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      "403 token does not match: check client id, video id, expires and secret\n" +
        "  form     stream link\n",
    );
  });

  it.each([
    [
      "/videos/2675_abc/bzvFjnpBFskO6M4eg9hriw/soon/x.ts",
      "403 malformed: expires is not a number of unix seconds",
    ],
    [
      "/videos/2675_abc/short/1861919999/x.ts",
      "403 malformed: token is not 22 characters of [A-Za-z0-9_-]",
    ],
    ["/videos/2675_abc/bzvFjnpBFskO6M4eg9hriw/1861919999/../x.ts", "403 unsafe path: dot segment"],
    [
      "/videos/2675_abc/bzvFjnpBFskO6M4eg9hriw/1861919999/..;/x.ts",
      "403 unsafe path: dot segment before ;",
    ],
    [
      "/videos/2675_abc/bzvFjnpBFskO6M4eg9hriw/1861919999/clip é.ts",
      "403 unsafe path: control, space or non-ASCII byte",
    ],
    [
      "/videos/2675_vidéo/bzvFjnpBFskO6M4eg9hriw/1861919999/x.ts",
      "403 unsafe path: control, space or non-ASCII byte\n" +
        "  the gate hashes ids exactly as written in the URL and refuses raw non-ASCII: sign " +
        "the percent-encoded id with signToken() from tokengate/sign",
    ],
    [
      "/images/2675_abc/bzvFjnpBFskO6M4eg9hriw/1861919999/x.ts",
      "404 not a protected link: the path is not under videos, cmaf, mpegts",
    ],
  ])("explains %s", (link, line) => {
    const run = cli(["check", link], { SECRET });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(line + "\n");
  });

  it.each([
    [
      ["sign", "--path", "/images/1.jpg", "--expires", "2147483647"],
      ["--query-token-prefixes", "images"],
      "200 valid until 2038-01-19T03:14:07Z (in 11 years)\n  form     CDN secure token\n",
    ],
    [
      ["sign", "--path", "/videos/video-1/", "--expires", "2147483647"],
      ["--query-token-prefixes", "videos", "--prefixes", "cmaf"],
      "200 valid until 2038-01-19T03:14:07Z (in 11 years)\n  form     CDN secure token\n",
    ],
    [
      [
        "sign",
        "--mp4",
        "--client",
        "1",
        "--video",
        "a",
        "--file",
        "m.mp4",
        "--expires",
        "2147483647",
        "--speed",
        "1000k",
      ],
      ["--mp4-tokens", "on"],
      "200 valid until 2038-01-19T03:14:07Z (in 11 years)\n  form     MP4 advanced link\n",
    ],
    [
      [
        "sign",
        "--client",
        "1",
        "--video",
        "a",
        "--expires",
        "2147483647",
        "--ip",
        "::ffff:1.2.3.4",
      ],
      ["--ip", "1.2.3.4"],
      "200 valid until 2038-01-19T03:14:07Z (in 11 years)\n  form     stream link, bound to 1.2.3.4\n",
    ],
    [
      ["sign", "--client", "1", "--video", "a", "--expires", "2147483647", "--ip", "1.2.3.4"],
      ["--ip", "1.2.3.5"],
      "403 token does not match: check client id, video id, expires and secret, and the client address\n  form     stream link\n",
    ],
  ])("names the form it recognised: %j", (signArgs, checkArgs, expected) => {
    let link = cli(signArgs, { SECRET }).stdout.trim();
    // A directory token covers the files directly in it.
    if (link.includes("/?md5=")) link = link.replace("/?md5=", "/seg-1.ts?md5=");
    const run = cli(["check", link, "--now", String(NOW), ...checkArgs], { SECRET });
    expect(run.stdout).toBe(expected);
  });

  it("reports the parts of a well-formed link when it has no secret", () => {
    const run = cli(["check", sign(NOW + 60), "--now", String(NOW)]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/no secret given/);
    expect(run.stdout).toMatch(/client {3}2675/);
    expect(run.stdout).toMatch(/expires {2}1800000060 \(2027-01-15T08:01:00Z, in 1 min\)/);
  });
});

describe("links from tokengate sign through the gate", () => {
  let origin: Origin;
  let gate: Served;
  beforeAll(async () => {
    origin = await startOrigin();
    gate = await serve({ ORIGIN_URL: origin.url, SECRET });
  });
  afterAll(async () => {
    await gate?.stop();
    await origin?.close();
  });

  it("are served with 200 by the Node server", async () => {
    const link = cli(
      ["sign", "--client", "2675", "--video", "abc", "--file", "720/seg-1.ts", "--base", gate.url],
      { SECRET },
    ).stdout.trim();
    const res = await get(link);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("content of /videos/2675_abc/720/seg-1.ts");
  });
});
