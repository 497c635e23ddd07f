/**
 * `tokengate check`: says what the gate would answer for a link, and why.
 * @module
 */
import { parseArgs } from "node:util";
import { decide } from "../core/decide.js";
import { parseLink, splitTarget } from "../core/link.js";
import { readSettings } from "../core/settings.js";
import { verifyToken } from "../core/token.js";
import { HELP_FLAG, parsedArgs, secretFrom, UsageError } from "./args.js";
import { HELP } from "./help.js";

/** "in 2 years", "3 h ago": a rough distance for humans. */
function relative(seconds: number): string {
  const abs = Math.abs(seconds);
  const units: [number, string, string][] = [
    [365 * 86_400, " year", " years"],
    [30 * 86_400, " month", " months"],
    [86_400, " day", " days"],
    [3600, " h", " h"],
    [60, " min", " min"],
    [1, " s", " s"],
  ];
  let phrase = "0 s";
  for (const [size, one, many] of units) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      phrase = `${n}${n === 1 ? one : many}`;
      break;
    }
  }
  return seconds >= 0 ? `in ${phrase}` : `${phrase} ago`;
}

function isoSeconds(unix: number): string {
  const date = new Date(unix * 1000);
  return Number.isFinite(date.getTime()) ? date.toISOString().replace(".000Z", "Z") : `${unix}`;
}

/** Runs `tokengate check` with its arguments; returns the exit code (1: would be refused). */
export async function check(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
): Promise<number> {
  const { values, positionals } = parsedArgs(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        "secret-file": { type: "string" },
        prefixes: { type: "string" },
        now: { type: "string" },
        help: HELP_FLAG,
      },
    }),
  );
  if (values.help) return (out(HELP.check), 0);
  if (positionals.length !== 1) throw new UsageError("check: give exactly one link (URL or path)");
  const target = positionals[0]!;
  const now = values.now === undefined ? Math.floor(Date.now() / 1000) : Number(values.now);
  if (!Number.isSafeInteger(now)) throw new UsageError("check: --now must be unix seconds");
  const secret = secretFrom(values["secret-file"], env);
  let settings;
  try {
    settings = readSettings({
      SECRET: secret ?? "no-secret-given",
      ORIGIN_URL: "http://127.0.0.1",
      PREFIXES: values.prefixes ?? env.PREFIXES,
    }).gate;
  } catch (error) {
    throw new UsageError(`check: ${(error as Error).message}`);
  }
  const { path } = splitTarget(target);
  const parsed = parseLink(path);
  const decision = decide("GET", target, { ...settings, now: () => now });
  if (decision.action === "pass") {
    out(`404 not a protected link: the path is not under ${[...settings.prefixes].join(", ")}`);
    return 1;
  }
  if (!parsed.ok) {
    out(`403 ${parsed.problem === "unsafe-path" ? "unsafe path" : "malformed"}: ${parsed.detail}`);
    // Only a raw non-ASCII id comes from signing it unencoded; a bad file is the caller's URL.
    const idSegment = path.split("/")[2] ?? "";
    if (/non-ASCII/.test(parsed.detail) && /[^\x21-\x7e]/.test(idSegment)) {
      out(
        "  the gate hashes ids exactly as written in the URL and refuses raw non-ASCII: sign " +
          "the percent-encoded id with signToken() from tokengate/sign",
      );
    }
    return 1;
  }
  const link = parsed.link;
  const expires = Number(link.expires);
  if (secret === undefined) {
    out(
      `? no secret given: the link is well-formed; set SECRET or --secret-file to check its token`,
    );
    out(`  kind     ${link.kind}`);
    out(`  client   ${link.clientId}`);
    out(`  video    ${link.videoId}`);
    out(`  token    ${link.token}`);
    out(`  expires  ${link.expires} (${isoSeconds(expires)}, ${relative(expires - now)})`);
    out(`  file     ${link.file}`);
    return 0;
  }
  const verdict = verifyToken({ ...link, secret, now });
  if (verdict === "bad-token") {
    out("403 token does not match: check client id, video id, expires and secret");
    return 1;
  }
  if (verdict === "expired") {
    out(`410 expired ${relative(expires - now).replace(/^in /, "")} (at ${isoSeconds(expires)})`);
    return 1;
  }
  if (verdict === "malformed") {
    out("403 malformed link");
    return 1;
  }
  out(`200 valid until ${isoSeconds(expires)} (${relative(expires - now)})`);
  return 0;
}
