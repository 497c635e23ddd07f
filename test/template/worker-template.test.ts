/**
 * `npm run test:template`: a Worker in a user's own project, made from the shipped template
 * (templates/worker) and the packed tarball in a temporary folder, as docs/workers.md says. The
 * tarball and its dependencies come from npm (`--prefer-offline`, so the npm registry must be
 * reachable once); wrangler is this repository's own (4.86), so workerd is not downloaded again.
 * Then `wrangler deploy --dry-run` bundles it and `wrangler dev` serves 200/403/410 from a real
 * origin on 127.0.0.1. Also: the template's hono peer at the lowest and newest versions the
 * range allows both give the Hono middleware one copy that type-checks and refuses correctly.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../helpers/http.js";
import { startOrigin, type Origin } from "../helpers/origin.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const SECRET = "template-secret";
const ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function npm(cwd: string, ...args: string[]): void {
  execFileSync("npm", [...args, "--prefer-offline", "--no-audit", "--no-fund"], {
    cwd,
    env: ENV,
    stdio: ["ignore", "ignore", "inherit"],
  });
}

let work: string;
let tarball: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "tokengate-template-"));
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }),
  )[0].filename as string;
  tarball = join(work, packed);
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("a Worker in your own project, from the shipped template", () => {
  let project: string;
  let origin: Origin;
  let dev: ChildProcess | undefined;
  let url: string;

  beforeAll(async () => {
    project = join(work, "my-gate");
    // The template as the package ships it, not as this repository holds it.
    const unpacked = join(work, "unpacked");
    execFileSync("mkdir", ["-p", unpacked]);
    execFileSync("tar", ["xzf", tarball, "-C", unpacked, "--strip-components=1"]);
    cpSync(join(unpacked, "templates/worker"), project, { recursive: true });
    npm(project, "install", "--omit=dev", tarball);
    origin = await startOrigin();
    writeFileSync(join(project, ".dev.vars"), `SECRET=${SECRET}\n`);
  }, 180_000);

  afterAll(async () => {
    if (dev?.pid) process.kill(-dev.pid, "SIGTERM");
    await origin?.close();
  });

  it("ships wrangler.toml with the #:schema line and a one-line entry", () => {
    expect(readFileSync(join(project, "wrangler.toml"), "utf8")).toMatch(/^#:schema /);
    expect(readFileSync(join(project, "src/index.ts"), "utf8").trim()).toBe(
      'export { default } from "tokengate/worker";',
    );
  });

  it("bundles with wrangler deploy --dry-run", () => {
    const out = join(work, "bundle");
    const run = spawnSync(process.execPath, [WRANGLER, "deploy", "--dry-run", "--outdir", out], {
      cwd: project,
      env: ENV,
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(out, "index.js"))).toBe(true);
  }, 120_000);

  it("answers 200, 403 and 410 through wrangler dev", async () => {
    const port = await freePort();
    dev = spawn(
      process.execPath,
      [
        WRANGLER,
        "dev",
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--var",
        `ORIGIN_URL:${origin.url}`,
        "--log-level",
        "warn",
      ],
      { cwd: project, env: ENV, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    url = `http://127.0.0.1:${port}`;
    let up = false;
    for (let i = 0; i < 600 && !up; i++) {
      try {
        await get(url + "/");
        up = true;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(up, "wrangler dev did not start in 60 s").toBe(true);
    const cli = join(project, "node_modules/tokengate/dist/cli/index.js");
    const sign = (...args: string[]) =>
      execFileSync(process.execPath, [cli, "sign", "--client", "2675", "--video", "abc", ...args], {
        env: { PATH: process.env.PATH, SECRET },
        encoding: "utf8",
      }).trim();
    const link = sign("--file", "720/seg-1.ts", "--base", url);
    const granted = await get(link);
    expect(granted.status).toBe(200);
    expect(granted.body.toString()).toBe("content of /videos/2675_abc/720/seg-1.ts");
    const tampered = link.replace(/\/[A-Za-z0-9_-]{22}\//, "/AAAAAAAAAAAAAAAAAAAAAA/");
    expect((await get(tampered)).status).toBe(403);
    const expired = sign(
      "--file",
      "720/seg-1.ts",
      "--base",
      url,
      "--expires",
      "1000000000",
      "--force",
    );
    expect((await get(expired)).status).toBe(410);
  }, 120_000);
});

describe("hono as a peer dependency", () => {
  it.each(["4.6.0", "4"])(
    "hono@%s: one copy, the middleware type-checks and refuses",
    (hono) => {
      const project = join(work, `hono-${hono}`);
      execFileSync("mkdir", ["-p", join(project, "src")]);
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({ type: "module", private: true }),
      );
      npm(project, "install", tarball, `hono@${hono}`, "@types/node@20");
      expect(existsSync(join(project, "node_modules/tokengate/node_modules/hono"))).toBe(false);
      writeFileSync(
        join(project, "src/app.ts"),
        `import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { secureLink, type SecureLinkVariables } from "tokengate";
import { signLink } from "tokengate/sign";

const app = new Hono<{ Variables: SecureLinkVariables }>();
app.use(secureLink({ secret: "s3cret", prefixes: ["videos"] }));
app.get("/videos/*", (c) => {
  const grant = c.get("secureLink");
  return c.text(grant.action === "proxy" ? grant.target : "refused");
});
app.onError((error, c) => (error instanceof HTTPException ? error.getResponse() : c.text("", 500)));
const sign = (expires: number) =>
  signLink({ clientId: 1, videoId: "a", secret: "s3cret", expires, file: "m.m3u8" });
const good = sign(4102444800);
const statuses: number[] = [];
for (const path of [good, good.replace(/\\/[\\w-]{22}\\//, "/AAAAAAAAAAAAAAAAAAAAAA/"), sign(1000000000)]) {
  statuses.push((await app.request(path)).status);
}
console.log(statuses.join(" "));
`,
      );
      writeFileSync(
        join(project, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            lib: ["ES2022", "DOM", "DOM.Iterable"],
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            rootDir: "src",
            outDir: "out",
            types: ["node"],
          },
          include: ["src"],
        }),
      );
      const tsc = spawnSync(
        process.execPath,
        [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project],
        {
          encoding: "utf8",
        },
      );
      expect(tsc.stdout + tsc.stderr).toBe("");
      const run = spawnSync(process.execPath, [join(project, "out/app.js")], { encoding: "utf8" });
      expect(run.stdout.trim()).toBe("200 403 410");
    },
    120_000,
  );
});
