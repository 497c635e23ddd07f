/**
 * Docs that cannot rot: every fenced block in README.md, CONTRIBUTING.md and docs/*.md is checked
 * against the package as `npm pack` makes it (so a file left out of `files`, or an export the docs
 * show but the package lacks, fails here):
 * - `ts` blocks type-check together, one file each, in a temporary project that installs the
 *   tarball (its dependencies linked from this repository's node_modules, so no network);
 * - `js` blocks parse, `json` blocks parse;
 * - every `tokengate <command> …` line in an `sh` block parses (run with `--help` appended, so
 *   unknown flags fail and nothing is started), `sign` lines run, and `check` lines of a block that
 *   exports SECRET run and must say 200 (link-forms.md has one link of each form);
 * - relative links point at files and headings that exist; prose lines stay within 120 characters.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PAGES = [
  "README.md",
  "CONTRIBUTING.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];
/** What the tarball needs at run and type-check time, linked from this repository. */
const LINKED = ["hono", "@hono", "undici", "prom-client", "ipaddr.js", "@types", "tdigest"];
/** A time before every example link in the docs expires. */
const DOC_NOW = "1800000000";

interface Block {
  page: string;
  line: number;
  lang: string;
  text: string;
}

function blocksOf(page: string): Block[] {
  const lines = readFileSync(join(ROOT, page), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== "```") body.push(lines[i]!);
    blocks.push({ page, line: start + 1, lang: open[1]!.trim(), text: body.join("\n") });
  }
  return blocks;
}

const BLOCKS = PAGES.flatMap(blocksOf);
const byLang = (...langs: string[]) => BLOCKS.filter((b) => langs.includes(b.lang.split(" ")[0]!));

/** Shell words of one command line: quotes removed, no expansion. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** `tokengate <command> …` invocations in a shell block, continuation lines joined. */
function invocations(text: string): string[][] {
  const joined = text.replace(/\\\n\s*/g, " ").split("\n");
  const found: string[][] = [];
  for (const raw of joined) {
    const line = raw.replace(/(^|\s)#.*$/, "");
    const re =
      /(?:^|[\s"(])(?:npx )?tokengate ((?:serve|sign|check|nginx-config|secret)\b[^|>;)"]*)/g;
    // `…` stands for the rest of a command line the text left out.
    for (let m = re.exec(line); m; m = re.exec(line)) {
      found.push(words(m[1]!).filter((word) => word !== "…"));
    }
  }
  return found;
}

/** The packed CLI with these arguments: its exit code and output. */
function cliRun(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...args], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

let work: string;
let project: string;
let cli: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "tokengate-docs-"));
  // The tarball as published; dist/ is fresh (global setup), so no prepack build here.
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }),
  )[0].filename as string;
  project = join(work, "project");
  const installed = join(project, "node_modules", "tokengate");
  mkdirSync(installed, { recursive: true });
  execFileSync("tar", ["xzf", join(work, packed), "-C", installed, "--strip-components=1"]);
  for (const name of LINKED) {
    symlinkSync(join(ROOT, "node_modules", name), join(project, "node_modules", name));
  }
  writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module", private: true }));
  cli = join(installed, "dist", "cli", "index.js");
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the docs", () => {
  it("keep the README to one screen per runtime and prose within 120 characters", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
    expect(readme.length).toBeLessThanOrEqual(200);
    const long: string[] = [];
    for (const page of PAGES) {
      let fenced = false;
      readFileSync(join(ROOT, page), "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (line.startsWith("```")) fenced = !fenced;
          else if (!fenced && [...line].length > 120) long.push(`${page}:${i + 1}`);
        });
    }
    expect(long).toEqual([]);
  });

  it("link only to files and headings that exist", () => {
    const slug = (heading: string) =>
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .trim()
        .replace(/\s/g, "-");
    const anchors = (file: string): string[] => {
      let fenced = false;
      return readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => (line.startsWith("```") ? ((fenced = !fenced), false) : !fenced))
        .flatMap((line) => /^#+ (.*)$/.exec(line)?.slice(1) ?? [])
        .map(slug);
    };
    const broken: string[] = [];
    for (const page of PAGES) {
      const text = readFileSync(join(ROOT, page), "utf8").replace(/```[\s\S]*?```/g, "");
      for (const [, href] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(href!)) continue;
        const [path, anchor] = href!.split("#");
        const file = path ? resolve(dirname(join(ROOT, page)), path) : join(ROOT, page);
        let ok: boolean;
        try {
          ok = anchor === undefined || !file.endsWith(".md") || anchors(file).includes(anchor);
          readFileSync(file);
        } catch {
          ok = false;
        }
        if (!ok) broken.push(`${page}: ${href}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("show TypeScript that type-checks against the packed package", () => {
    const ts = byLang("ts", "typescript");
    expect(ts.length).toBeGreaterThanOrEqual(8);
    const src = join(project, "src");
    mkdirSync(src, { recursive: true });
    ts.forEach((block, n) => {
      let text = block.text;
      // Deno's own `npm:` specifiers and globals, as Deno would provide them.
      if (block.lang.includes("deno")) {
        text =
          "declare const Deno: { env: { get(name: string): string | undefined } };\n" +
          text.replace(/"npm:([^"]+)"/g, '"$1"');
      }
      const name = `${block.page.replace(/\W/g, "_")}_${block.line}.ts`;
      writeFileSync(join(src, name), `${text}\nexport {};\n`);
      expect(n).toBeGreaterThanOrEqual(0);
    });
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022", "DOM", "DOM.Iterable"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
        },
        include: ["src"],
      }),
    );
    const run = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project],
      {
        encoding: "utf8",
      },
    );
    expect(run.stdout + run.stderr).toBe("");
    expect(run.status).toBe(0);
  }, 60_000);

  it("show JavaScript and JSON that parse", () => {
    for (const block of byLang("js")) {
      const file = join(work, `block-${block.line}.mjs`);
      writeFileSync(file, block.text);
      const run = spawnSync(process.execPath, ["--check", file], { encoding: "utf8" });
      expect(run.stderr, `${block.page}:${block.line}`).toBe("");
    }
    for (const block of byLang("json")) expect(() => JSON.parse(block.text)).not.toThrow();
  });

  it("show tokengate command lines the CLI accepts, and example links that verify", async () => {
    const secretFile = join(work, "secret");
    writeFileSync(secretFile, "s3cret\n");
    const runs: Promise<void>[] = [];
    let checked = 0;
    for (const block of byLang("sh", "bash")) {
      const exported = /^export SECRET=(\S+)$/m.exec(block.text)?.[1];
      for (const args of invocations(block.text)) {
        const where = `${block.page}:${block.line}: tokengate ${args.join(" ")}`;
        const real = args.map((word, i) => (args[i - 1] === "--secret-file" ? secretFile : word));
        const env = { ...process.env, SECRET: exported ?? "s3cret" };
        runs.push(
          cliRun([...real, "--help"], env).then((help) => {
            expect(help.stderr, where).toBe("");
            expect(help.code, where).toBe(0);
          }),
        );
        if (args[0] === "sign") {
          runs.push(
            cliRun(real, env).then((run) => {
              expect(run.stderr, where).toBe("");
              expect(run.code, where).toBe(0);
            }),
          );
        }
        if (args[0] === "check" && exported !== undefined) {
          checked++;
          runs.push(
            cliRun([...real, "--now", DOC_NOW], env).then((run) => {
              expect(run.stdout, where).toMatch(/^200 /);
            }),
          );
        }
      }
    }
    await Promise.all(runs);
    expect(runs.length).toBeGreaterThanOrEqual(10);
    // One example of each link form (link-forms.md).
    expect(checked).toBeGreaterThanOrEqual(5);
  }, 60_000);
});
