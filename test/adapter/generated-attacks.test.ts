/**
 * Generated attacks, on every runtime at once: the Node server (the CLI as users run it), the
 * Worker in Miniflare's workerd and nginx with the njs module (from the config
 * `tokengate nginx-config` prints), each in front of a recording origin. Every generated
 * request is sent, byte for byte, to each. Seeded: a failure prints the seed; `FC_SEED=<seed>` replays it.
 * `ATTACKS=<n>` changes how many attacks are generated (each is sent to both runtimes).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attackArbitrary,
  attackBytes,
  originViolation,
  PREFIXES,
  TRUSTED_PROXY,
  type Attack,
} from "../helpers/attacks.js";
import { decideFor } from "../helpers/http-semantics.js";
import { leakScanner } from "../helpers/leaks.js";
import { nginxAvailable, startNginx, type StartedNginx } from "../helpers/nginx.js";
import { SECRET } from "../helpers/links.js";
import { inParallel, rawExchange, type Exchange } from "../helpers/raw-exchange.js";
import {
  notItsOwnAnswer,
  recordingOrigin,
  resourceOf,
  type Recorded,
  type RecordingOrigin,
} from "../helpers/recording-origin.js";
import { serve, type Served } from "../helpers/serve.js";
import { startWorker, type StartedWorker } from "../helpers/worker.js";

// `npm test` runs 10,000; `npm run test:full` (CI) runs 50,000.
const ATTACKS = Number(process.env.ATTACKS ?? 10_000);
const BATCH = 100;
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
/** Answers the gate itself may give; anything else must be the origin's (200, 206, 304, 412, 416). */
const GATE_STATUSES = new Set([403, 404, 405, 410]);
/** Answers the runtime's HTTP parser gives before the gate runs, to what is not HTTP/1.1. */
const PARSER_STATUSES = new Set([400, 414, 431]);

const KNOWN_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "TRACE",
]);

type Runtime = "node" | "workerd" | "nginx";
const RUNTIMES: Runtime[] = nginxAvailable() ? ["node", "workerd", "nginx"] : ["node", "workerd"];

/** The header attacks are told apart by, which the gates pass on by name. */
const FORWARD_HEADERS = "X-Req";

/** What the origin holds for the attack with `X-Req: id`: bytes that say whose they are. */
const bodyFor = (id: number) => `ok ${id}`;

/**
 * The status a link as a signer made it must get (no mutation, nothing that stops a parser),
 * sent with `X-Req: id`: proof the gate is not refusing everything. A granted one gets what
 * the origin answers to its Range and preconditions.
 */
function expectedStatus(attack: Attack, now: number, id: number): number | undefined {
  if (attack.mutations > 0 || attack.body === "both" || attack.host === "none") return undefined;
  if (attack.host === "duplicated" || oddCoding(attack)) return undefined;
  if (!PREFIXES.includes(attack.base.kind)) return 404;
  if (attack.upgrade) return 403;
  if (attack.method !== "GET" && attack.method !== "HEAD") return 405;
  if (attack.token !== "right") return 403;
  if (attack.base.expires < now) return 410;
  const header = (name: string) =>
    attack.validators.find(([sent]) => sent.toLowerCase() === name)?.[1];
  const { body, ...stored } = resourceOf(bodyFor(id));
  return decideFor(attack.method, header, { ...stored, size: body.byteLength }).status;
}

/**
 * Why the runtime's own HTTP server may refuse a request before the gate runs, or undefined
 * when it may not: what is not HTTP/1.1 (README: "Where the runtimes differ").
 */
export function refusedByRuntime(
  runtime: Runtime,
  attack: Attack,
  status: number,
): string | undefined {
  const target = attack.form === "origin" ? attack.target : "http://x" + attack.target;
  if (runtime === "nginx") return refusedByNginx(attack, status);
  // A transfer coding other than chunked: Node's server (the gate's check) and workerd's own
  // refuse it before the gate decides.
  if (oddCoding(attack) && (status === 400 || (runtime === "workerd" && status === 500))) {
    return "a transfer coding other than chunked";
  }
  if (runtime === "workerd" && status === 500) {
    // workerd's server takes only origin-form targets and one Host; it answers 500 itself.
    if (!target.startsWith("/")) return "not origin-form";
    if (attack.host === "duplicated") return "two Host headers";
    return undefined;
  }
  // A method that is not an upper-case token: llhttp says 400, workerd 501.
  if (
    !KNOWN_METHODS.has(attack.method) &&
    (status === 400 || (runtime === "workerd" && status === 501))
  ) {
    return "unknown method";
  }
  if (!PARSER_STATUSES.has(status)) return undefined;
  if (target.length > 8000 && status !== 400) return "a head too long";
  if (!target.startsWith("/") && !target.startsWith("http://"))
    return "not a path or an absolute URL";
  // In absolute form the path's first character follows the authority: anything but "/"
  // makes the authority (host:port) one llhttp refuses.
  if (attack.form !== "origin" && !attack.target.startsWith("/") && status === 400) {
    return "an absolute form's authority runs on";
  }
  // llhttp refuses a "#" in some places of a target (after an absolute form's authority).
  if (target.includes("#") && status === 400) return "a raw # in the target";
  // workerd wants a Host from HTTP/1.0 clients too.
  if (attack.host === "none" && (attack.version === "1.1" || runtime === "workerd"))
    return "no Host";
  if (attack.host === "duplicated") return "two Host headers";
  if (attack.body === "both") return "Content-Length and Transfer-Encoding";
  // Bytes a request target may not hold (RFC 9112 §3.2; llhttp and kj refuse some of them).
  if (/[\x00-\x20\x7f-\xff]/.test(target)) return "a byte a target may not hold";
  if (runtime === "node" && attack.form !== "origin" && attack.host !== "normal")
    return "absolute form";
  return undefined;
}

/**
 * Why nginx may refuse a request before the module decides it, or undefined when it may not
 * (README: "Self-host in nginx"): its parser's 400 (a request line or header it cannot read, an escaped NUL or `/` past
 * the root in the path, no or two Hosts, a body framed twice), 414, 501 (a Transfer-Encoding it
 * does not know) and 405 to TRACE.
 */
function refusedByNginx(attack: Attack, status: number): string | undefined {
  if (attack.method === "TRACE" && status === 405) return "TRACE";
  if (status !== 400 && status !== 414 && status !== 501) return undefined;
  if (oddCoding(attack) && status === 501) return "a transfer coding other than chunked";
  if (!KNOWN_METHODS.has(attack.method)) return "unknown method";
  if (attack.host === "none" || attack.host === "duplicated") return "Host";
  const names = attack.hostile.map(([name]) => name.toLowerCase());
  if (names.some((name, i) => NGINX_UNIQUE.includes(name) && names.indexOf(name) !== i)) {
    return "a header nginx takes once, twice";
  }
  if (attack.body === "both") return "Content-Length and Transfer-Encoding";
  if (attack.body === "chunked" && attack.version === "1.0")
    return "HTTP/1.0 with Transfer-Encoding";
  if (attack.mutations > 0 || attack.form !== "origin")
    return "a target or header nginx cannot read";
  return undefined;
}

/** Whether the attack's body has a transfer coding other than chunked. */
function oddCoding(attack: Attack): boolean {
  return attack.body === "identity" || attack.body === "xchunked";
}

/** Headers nginx refuses to get twice (400), found by sending each twice to nginx 1.22. */
const NGINX_UNIQUE = [
  "host",
  "authorization",
  "content-length",
  "transfer-encoding",
  "expect",
  "if-modified-since",
  "if-unmodified-since",
  "if-match",
  "if-none-match",
  "if-range",
];

/**
 * Why the Node server and nginx may answer one raw request differently, or undefined when
 * they may not: both hand the module the raw target, so only their parsers may differ.
 */
function whyNginxDiffers(attack: Attack, node: number, nginx: number): string | undefined {
  if (nginx === 0 && /[\r\n]/.test(attack.target)) return "nginx read HTTP/0.9";
  if (refusedByRuntime("node", attack, node) !== undefined) return "Node's parser refused";
  if (refusedByNginx(attack, nginx) !== undefined) return "nginx's parser refused";
  return undefined;
}

/**
 * Why the two runtimes may answer one raw request differently, or undefined when they may not
 * (README: "Where the runtimes differ").
 */
export function whyTheyDiffer(attack: Attack, node: number, workerd: number): string | undefined {
  const path = attack.target.split("?")[0]!.split("#")[0]!;
  if (refusedByRuntime("node", attack, node) !== undefined) return "Node's parser refused";
  if (refusedByRuntime("workerd", attack, workerd) !== undefined) return "workerd's server refused";
  if (PARSER_STATUSES.has(node) || PARSER_STATUSES.has(workerd)) return "a parser refused";
  // workerd's URL parser resolves dot segments (also %2e), reads `\` as `/`, and escapes a
  // raw `#` and bytes past ASCII (invalid UTF-8 as U+FFFD) before the Worker sees the path.
  if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(path) || /[\\#\x80-\xff]/.test(attack.target)) {
    return "workerd normalised the path";
  }
  return undefined;
}

describe("generated attacks on every runtime", () => {
  let origin: RecordingOrigin;
  let node: Served;
  let worker: StartedWorker;
  let nginx: StartedNginx | undefined;
  /** What workerd printed: its own errors, and anything the Worker logged or threw. */
  const workerdOutput: string[] = [];
  const ports: Record<Runtime, number> = { node: 0, workerd: 0, nginx: 0 };

  beforeAll(async () => {
    origin = await recordingOrigin(bodyFor);
    // X-Req is off the header allow-list: the operator's FORWARD_HEADERS passes it on.
    // The self-hosted gates trust the test as a proxy: X-Forwarded-For names the client.
    node = await serve({
      ORIGIN_URL: origin.url,
      SECRET,
      LOG_FORMAT: "json",
      FORWARD_HEADERS,
      TRUST_PROXY: TRUSTED_PROXY,
    });
    ports.node = node.port;
    worker = await startWorker(
      { SECRET, ORIGIN_URL: origin.url, FORWARD_HEADERS },
      {
        handleRuntimeStdio(stdout, stderr) {
          stdout.on("data", (data) => workerdOutput.push(String(data)));
          stderr.on("data", (data) => workerdOutput.push(String(data)));
        },
      },
    );
    ports.workerd = worker.port;
    if (RUNTIMES.includes("nginx")) {
      nginx = await startNginx({
        ORIGIN_URL: origin.url,
        SECRET,
        FORWARD_HEADERS,
        TRUST_PROXY: TRUSTED_PROXY,
      });
      ports.nginx = nginx.port;
    }
  });
  afterAll(async () => {
    await nginx?.close();
    await worker?.close();
    await node?.stop();
    await origin?.close();
  });

  it(`holds every invariant for ${ATTACKS} generated attacks, each sent to every runtime`, async () => {
    const now = Math.floor(Date.now() / 1000);
    const scanner = leakScanner(SECRET);
    const statuses: Record<Runtime, Map<number, number>> = {
      node: new Map(),
      workerd: new Map(),
      nginx: new Map(),
    };
    const differences = new Map<string, number>();
    const refusals = new Map<string, number>();
    let sent = 0;
    let nextId = 0;
    let granted = 0;
    let checkedLiveness = 0;

    const property = fc.asyncProperty(
      fc.array(attackArbitrary({ secret: SECRET, now }), { minLength: BATCH, maxLength: BATCH }),
      async (attacks) => {
        const first = nextId;
        const each = RUNTIMES.length;
        nextId += attacks.length * each;
        const exchanges: Record<Runtime, Exchange[]> = { node: [], workerd: [], nginx: [] };
        await Promise.all(
          RUNTIMES.map(async (runtime, r) => {
            exchanges[runtime] = await inParallel(attacks, 16, (attack, i) =>
              rawExchange(
                ports[runtime],
                attackBytes(attack, first + i * each + r, origin.host),
                5000,
              ),
            );
          }),
        );
        sent += attacks.length * each;
        const byId = new Map<number, Recorded[]>();
        for (const seen of origin.seen.splice(0)) {
          byId.set(seen.id, [...(byId.get(seen.id) ?? []), seen]);
        }
        const problems: string[] = [];
        attacks.forEach((attack, i) => {
          scanner.sent(attack.target);
          const answers = RUNTIMES.map((runtime, r) => {
            const id = first + i * each + r;
            const exchange = exchanges[runtime][i]!;
            const status = exchange.status;
            const where = `${runtime} #${id}`;
            scanner.scan(exchange.head + "\r\n\r\n" + exchange.body, where);
            statuses[runtime].set(status, (statuses[runtime].get(status) ?? 0) + 1);
            const seen = byId.get(id) ?? [];
            byId.delete(id);
            const fail = (why: string) =>
              problems.push(
                `${where} ${why}: ${JSON.stringify(attackBytes(attack, id, origin.host).toString("latin1"))}`,
              );
            if (exchange.hung)
              return (
                fail(`got no answer in time (had: ${JSON.stringify(exchange.head.slice(0, 60))})`),
                status
              );
            // nginx reads a line that a raw LF ends early as HTTP/0.9: its answer has no status
            // line, and the module refuses it (the origin must not be asked).
            const http09 = runtime === "nginx" && status === 0 && /[\r\n]/.test(attack.target);
            if (http09) {
              if (seen.length > 0) fail("was an HTTP/0.9 request but reached the origin");
              return status;
            }
            if (status === 0) return (fail("closed without an answer"), status);
            // The gate never answers 400, 414 or 431: such an answer is the parser's, for
            // some request the known reasons do not name. Accepted, counted, never for a link
            // as a signer made it, and the origin must not have been asked.
            const refused =
              refusedByRuntime(runtime, attack, status) ??
              (PARSER_STATUSES.has(status) && expectedStatus(attack, now, id) === undefined
                ? "another request the parser refuses"
                : undefined);
            if (refused !== undefined) {
              refusals.set(
                `${runtime} ${status} ${refused}`,
                (refusals.get(`${runtime} ${status} ${refused}`) ?? 0) + 1,
              );
              if (seen.length > 0) fail(`was refused (${refused}) but reached the origin`);
              return status;
            }
            if (status >= 500) return (fail(`answered ${status}`), status);
            if (seen.length > 1) fail(`reached the origin ${seen.length} times`);
            if (seen.length === 1) {
              granted++;
              const why = originViolation(attack, seen[0]!, origin.host, now, runtime);
              if (why !== undefined) fail(`reached the origin with ${why} (${seen[0]!.url})`);
              // A granted answer carries its own bytes: the origin's answer to this request
              // (whole, or the range it asked for), never another request's.
              const own = notItsOwnAnswer(
                attack.method,
                status,
                exchange.head,
                exchange.body,
                seen[0]!,
              );
              if (own !== undefined) fail(`reached the origin but ${own}`);
            } else if (!GATE_STATUSES.has(status)) {
              fail(`answered ${status} without asking the origin`);
            }
            const expected = expectedStatus(attack, now, id);
            if (expected !== undefined) {
              checkedLiveness++;
              if (status !== expected)
                fail(`answered ${status}, a signer's link must get ${expected}`);
            }
            return status;
          });
          const [nodeStatus, workerdStatus, nginxStatus] = answers as [number, number, number?];
          if (nginxStatus !== undefined && nodeStatus !== nginxStatus) {
            const why = whyNginxDiffers(attack, nodeStatus, nginxStatus);
            const key = `${why ?? "UNEXPLAINED"}: node ${nodeStatus}, nginx ${nginxStatus}`;
            differences.set(key, (differences.get(key) ?? 0) + 1);
            if (why === undefined) {
              problems.push(
                `node ${nodeStatus} but nginx ${nginxStatus}: ${JSON.stringify(attackBytes(attack, 0, origin.host).toString("latin1"))}`,
              );
            }
          }
          if (nodeStatus !== workerdStatus) {
            const why = whyTheyDiffer(attack, nodeStatus, workerdStatus);
            const key = `${why ?? "UNEXPLAINED"}: node ${nodeStatus}, workerd ${workerdStatus}`;
            differences.set(key, (differences.get(key) ?? 0) + 1);
            if (why === undefined) {
              problems.push(
                `node ${nodeStatus} but workerd ${workerdStatus}: ${JSON.stringify(attackBytes(attack, 0, origin.host).toString("latin1"))}`,
              );
            }
          }
        });
        for (const [id] of byId)
          problems.push(`the origin got a request no attack sent (X-Req ${id})`);
        if (problems.length > 0) throw new Error(problems.slice(0, 5).join("\n"));
      },
    );
    const outcome = await fc.check(property, {
      numRuns: Math.ceil(ATTACKS / BATCH),
      seed: SEED,
      // No shrinking: the failure already names each failing request's raw bytes, and
      // shrinking a batch would replay it many times over the network.
      endOnFailure: true,
    });
    if (outcome.failed) {
      // The batch itself is too long to print; the seed replays it, the message names the requests.
      const error = outcome.errorInstance as Error | undefined;
      throw new Error(
        `seed ${outcome.seed} (replay: FC_SEED=${outcome.seed}): ${error?.message ?? String(outcome.errorInstance)}`,
      );
    }

    const logLines = node.lines;
    for (const line of logLines) scanner.scan(line, "node log");
    console.log(
      JSON.stringify({ sent, granted, checkedLiveness, statuses, refusals, differences }, (_, v) =>
        v instanceof Map ? Object.fromEntries(v) : v,
      ),
    );
    expect(sent).toBeGreaterThanOrEqual(ATTACKS * 2);
    // Every class of answer occurred, on every runtime: grants that reached the origin, links
    // a signer made (their status checked), and the gate's own refusals; a class that never
    // occurs means the generator has gone blind to it.
    expect(granted).toBeGreaterThan(0);
    expect(checkedLiveness).toBeGreaterThan(0);
    // Ranges and preconditions are rarer: a run of the default size or more sees each answer
    // the origin gives to them passed on.
    const classes = ATTACKS >= 10_000 ? [200, 206, 304, 403, 410, 412, 416] : [200, 403, 410];
    for (const runtime of RUNTIMES) {
      for (const status of classes) {
        expect(statuses[runtime].get(status) ?? 0, `${runtime} answered ${status}`).toBeGreaterThan(
          0,
        );
      }
    }
    expect(scanner.leaks).toEqual([]);
    expect(logLines.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    expect(node.stderr.join("")).toBe("");
    if (nginx !== undefined) {
      for (const line of nginx.accessLog()) scanner.scan(line, "nginx access log");
      const errors = nginx.errorLog();
      scanner.scan(errors, "nginx error log");
      // The module never throws or logs an error: nginx's own notices and client errors only.
      expect(
        errors
          .split("\n")
          .filter(
            (line) =>
              /\[(error|crit|alert|emerg)\]/.test(line) &&
              !/client sent|client intended/.test(line),
          ),
      ).toEqual([]);
    }
    // workerd's own server complains of the targets it answers 500 to; nothing else may show,
    // least of all an exception the Worker threw.
    const output = workerdOutput.join("").split("\n");
    for (const line of output) scanner.scan(line, "workerd output");
    // The Worker's own line per request (METRICS): only its fields, never a path or a token.
    const requestLines = output.filter((line) => line.startsWith('{"tokengate":"request"'));
    for (const line of requestLines) {
      expect(Object.keys(JSON.parse(line)).sort()).toEqual(
        expect.arrayContaining(["method", "ms", "status", "tokengate"]),
      );
      expect(line).toMatch(
        /^\{"tokengate":"request","method":"[A-Za-z]+","status":\d+(,"reason":"[a-z-]+")?(,"upstream_status":"\d+")?(,"cache":"(HIT|MISS)")?,"ms":\d+\}$/,
      );
    }
    expect(requestLines.length).toBeGreaterThan(ATTACKS / 2);
    const unexplained = output.filter(
      (line) =>
        line.trim() !== "" &&
        !line.startsWith('{"tokengate":"request"') &&
        !line.startsWith("stack: ") &&
        !/Uncaught exception: kj\/compat\/url\.c\+\+:\d+: failed: (expected tryParse|invalid hostname)/.test(
          line,
        ) &&
        // workerd's server refusing a transfer coding other than chunked (its 500).
        !/Uncaught exception: kj\/compat\/http\.c\+\+:\d+: failed: (unknown transfer encoding|expected type != REQUEST .*Transfer-Encoding other than chunked)/.test(
          line,
        ),
    );
    expect(unexplained).toEqual([]);
    // Enough of every outcome that the invariants were exercised, not vacuously true.
    expect(granted).toBeGreaterThan(ATTACKS / 50);
    expect(checkedLiveness).toBeGreaterThan(ATTACKS / 20);
  }, 600_000);
});
