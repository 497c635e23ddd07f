/**
 * `tokengate check`: says what the gate would answer for a link, and why.
 * @module
 */
import { parseArgs } from "node:util";
import { decide, type GateSettings } from "../core/decide.js";
import { canonicalAddress } from "../core/ip.js";
import { parseLink, splitTarget } from "../core/link.js";
import { tokenQuery } from "../core/query-token.js";
import { readSettings } from "../core/settings.js";
import { clientSecretsFrom, HELP_FLAG, parsedArgs, secretFrom, UsageError } from "./args.js";
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
        "client-secrets-file": { type: "string" },
        prefixes: { type: "string" },
        now: { type: "string" },
        ip: { type: "string" },
        "bind-ip": { type: "string" },
        "query-token-prefixes": { type: "string" },
        "mp4-tokens": { type: "string" },
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
  const clientSecrets = clientSecretsFrom(
    values["client-secrets-file"] ?? env.CLIENT_SECRETS_FILE,
    env,
  );
  const anySecret = secret !== undefined || clientSecrets !== undefined;
  let settings: GateSettings;
  try {
    settings = readSettings({
      SECRET: secret ?? (clientSecrets === undefined ? "no-secret-given" : undefined),
      ORIGIN_URL: "http://127.0.0.1",
      PREFIXES: values.prefixes ?? env.PREFIXES,
      BIND_IP: values["bind-ip"] ?? env.BIND_IP ?? (values.ip === undefined ? "off" : "optional"),
      QUERY_TOKEN_PREFIXES: values["query-token-prefixes"] ?? env.QUERY_TOKEN_PREFIXES,
      MP4_TOKENS: values["mp4-tokens"] ?? env.MP4_TOKENS,
      EXPIRY_LEEWAY_S: env.EXPIRY_LEEWAY_S,
      CLIENT_SECRETS: clientSecrets,
    }).gate;
  } catch (error) {
    throw new UsageError(`check: ${(error as Error).message}`);
  }
  const gate: GateSettings = { ...settings, now: () => now };
  const { path, query } = splitTarget(target);
  const decision = decide("GET", target, gate, values.ip);
  if (decision.action === "pass") {
    const guarded = [...settings.prefixes];
    if (settings.queryPrefixes !== "*") guarded.push(...settings.queryPrefixes);
    out(`404 not a protected link: the path is not under ${guarded.join(", ")}`);
    return 1;
  }
  const form = formOf(path, query, gate);
  const parsed = parseLink(path);
  if (
    decision.action === "reject" &&
    (decision.reason === "unsafe-path" || decision.reason === "malformed")
  ) {
    const what = decision.reason === "unsafe-path" ? "unsafe path" : "malformed";
    out(`403 ${what}: ${decision.detail}`);
    // Only a raw non-ASCII id comes from signing it unencoded; a bad file is the caller's URL.
    const idSegment = path.split("/")[2] ?? "";
    if (/non-ASCII/.test(decision.detail) && /[^\x21-\x7e]/.test(idSegment)) {
      out(
        "  the gate hashes ids exactly as written in the URL and refuses raw non-ASCII: sign " +
          "the percent-encoded id with signToken() from tokengate/sign",
      );
    }
    if (form !== "stream link") out(`  form     ${form}`);
    return 1;
  }
  const expiresText =
    form === "stream link" && parsed.ok
      ? parsed.link.expires
      : (tokenQuery(query, true).expires ?? "");
  const expires = Number(expiresText);
  if (!anySecret) {
    out(
      `? no secret given: the link is well-formed; set SECRET or --secret-file to check its token`,
    );
    out(`  form     ${form}`);
    if (parsed.ok) {
      const link = parsed.link;
      out(`  kind     ${link.kind}`);
      out(`  client   ${link.clientId}`);
      out(`  video    ${link.videoId}`);
      out(`  token    ${link.token}`);
      out(`  file     ${link.file}`);
    }
    out(`  expires  ${expiresText} (${isoSeconds(expires)}, ${relative(expires - now)})`);
    return 0;
  }
  if (decision.action === "reject" && decision.reason === "bad-token") {
    const parts =
      form === "stream link"
        ? "client id, video id, expires and secret"
        : form === "CDN secure token"
          ? "path (file or directory), expires and secret"
          : "path, expires, speed, buffer and secret";
    out(
      `403 token does not match: check ${parts}${gate.bindIp === "off" ? "" : ", and the client address"}`,
    );
    out(`  form     ${form}`);
    const clientId = (path.split("/")[2] ?? "").split("_")[0]!;
    if (form !== "CDN secure token" && gate.clientSecrets && !gate.clientSecrets[clientId]) {
      out(`  client   ${clientId} is not in CLIENT_SECRETS: its links are all refused`);
    }
    return 1;
  }
  const bound =
    gate.bindIp !== "off" && decide("GET", target, { ...gate, bindIp: "off" }).action === "reject";
  const formLine = `  form     ${form}${bound && values.ip !== undefined ? `, bound to ${canonicalAddress(values.ip) ?? values.ip}` : ""}`;
  const secretLine = whichSecret(target, gate, values.ip);
  if (decision.action === "reject") {
    out(`410 expired ${relative(expires - now).replace(/^in /, "")} (at ${isoSeconds(expires)})`);
    out(formLine);
    if (secretLine) out(secretLine);
    return 1;
  }
  const leeway = gate.expiryLeewaySeconds;
  const until = expires + leeway;
  out(
    `200 valid until ${isoSeconds(until)} (${relative(until - now)})${leeway > 0 && expires < now ? `: expired ${relative(expires - now).replace(/^in /, "")}, within EXPIRY_LEEWAY_S` : ""}`,
  );
  out(formLine);
  if (secretLine) out(secretLine);
  return 0;
}

/**
 * With several secrets (a rotation), which one the link was signed with: a link of an older
 * one stops verifying when that secret is retired. Empty with one secret.
 */
function whichSecret(target: string, gate: GateSettings, ip: string | undefined): string {
  const path = splitTarget(target).path;
  const clientId = (path.split("/")[2] ?? "").split("_")[0]!;
  // With CLIENT_SECRETS, stream and MP4 links verify with their client's list only; CDN
  // tokens (outside the stream prefixes) with SECRET's.
  const perClient =
    gate.clientSecrets !== undefined && gate.prefixes.includes(path.split("/")[1] ?? "");
  const secrets = perClient ? (gate.clientSecrets![clientId] ?? []) : gate.secrets;
  if (secrets.length < 2) return "";
  for (let i = 0; i < secrets.length; i++) {
    const alone: GateSettings = perClient
      ? {
          ...gate,
          clientSecrets: Object.assign(Object.create(null), gate.clientSecrets, {
            [clientId]: [secrets[i]!],
          }),
        }
      : { ...gate, secrets: [secrets[i]!] };
    const decision = decide("GET", target, alone, ip);
    if (decision.action === "reject" && decision.reason === "bad-token") continue;
    const note =
      i === 0
        ? "the newest, which signs"
        : "an older one: its links stop verifying when it is retired";
    return `  secret   ${i + 1} of ${secrets.length}${perClient ? ` (client ${clientId}'s; ` : " ("}${note})`;
  }
  return "";
}

/** Which of the link forms a request under a guarded path is written in. */
function formOf(path: string, query: string, settings: GateSettings): string {
  const kind = path.split("/")[1] ?? "";
  if (!settings.prefixes.includes(kind)) return "CDN secure token";
  if (!parseLink(path).ok && settings.mp4Tokens && tokenQuery(query, true).md5 !== undefined) {
    return "MP4 advanced link";
  }
  return "stream link";
}
