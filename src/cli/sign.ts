/**
 * `tokengate sign`: prints a signed link.
 * @module
 */
import { parseArgs } from "node:util";
import { parseTtl, resolveExpires, signLink, signMp4Token, signQueryToken } from "../sign.js";
import { linkBase } from "../core/link.js";
import { parseClientSecrets } from "../core/settings.js";
import { clientSecretsFrom, HELP_FLAG, parsedArgs, signingSecretFrom, UsageError } from "./args.js";
import { HELP } from "./help.js";

/** Runs `tokengate sign` with its arguments; returns the exit code. */
export async function sign(
  args: string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
): Promise<number> {
  const { values } = parsedArgs(() =>
    parseArgs({
      args,
      strict: true,
      options: {
        client: { type: "string" },
        video: { type: "string" },
        kind: { type: "string" },
        ttl: { type: "string" },
        expires: { type: "string" },
        file: { type: "string" },
        base: { type: "string" },
        "secret-file": { type: "string" },
        "client-secrets-file": { type: "string" },
        ip: { type: "string" },
        path: { type: "string" },
        mp4: { type: "boolean" },
        force: { type: "boolean" },
        speed: { type: "string" },
        buffer: { type: "string" },
        help: HELP_FLAG,
      },
    }),
  );
  if (values.help) return (out(HELP.sign), 0);
  const query = values.path !== undefined;
  if (query && (values.client ?? values.video ?? values.mp4) !== undefined) {
    throw new UsageError(
      "sign: --path signs a CDN secure token; it takes no --client, --video or --mp4",
    );
  }
  if (!query && values.client === undefined) throw new UsageError("sign: --client is required");
  if (!query && values.video === undefined) throw new UsageError("sign: --video is required");
  if (!values.mp4 && (values.speed ?? values.buffer) !== undefined) {
    throw new UsageError("sign: --speed and --buffer go with --mp4");
  }
  if (values.ttl !== undefined && values.expires !== undefined) {
    throw new UsageError("sign: give --ttl or --expires, not both");
  }
  const secret = query
    ? signingSecretFrom(values["secret-file"], env)
    : clientSecretOf(values.client!, values["client-secrets-file"], values["secret-file"], env);
  if (secret === undefined) {
    throw new UsageError("sign: no secret: pass --secret-file PATH or set SECRET");
  }
  try {
    const when =
      values.expires !== undefined
        ? { expires: values.expires }
        : { ttlSeconds: parseTtl(values.ttl ?? "24h") };
    // A link handed out already expired gets 410 at once; that is nearly always a typo.
    if (values.expires !== undefined && !values.force) {
      const expires = BigInt(resolveExpires(when));
      if (expires <= BigInt(Math.floor(Date.now() / 1000))) {
        throw new UsageError(
          `sign: the link would be expired (--expires ${expires} is not in the future); pass --force to sign it anyway`,
        );
      }
    }
    if (query) {
      // The path as it will stand in the URL; a directory (ending in /) covers its files.
      const expires = resolveExpires(when);
      const path = values.path!;
      const token = signQueryToken({ path, secret, expires, ip: values.ip });
      out(`${linkBase(values.base)}${path}?md5=${token}&expires=${expires}`);
      return 0;
    }
    if (values.mp4) {
      const file = values.file ?? "";
      if (!file.endsWith(".mp4")) throw new TypeError("--mp4 needs --file ending in .mp4");
      const path = signLink({
        kind: values.kind,
        clientId: values.client!,
        videoId: values.video!,
        secret,
        file,
        expires: "1",
      });
      // The stream link's shape, without its token and expires segments: the MP4 link's path.
      const uri = path.replace(/^(\/[^/]+\/[^/]+)\/[^/]+\/[^/]+/, "$1");
      const expires = resolveExpires(when);
      const token = signMp4Token({
        uri,
        secret,
        expires,
        speed: values.speed,
        buffer: values.buffer,
        ip: values.ip,
      });
      const rate = `${values.speed ? `&speed=${values.speed}` : ""}${values.buffer ? `&buffer=${values.buffer}` : ""}`;
      out(`${linkBase(values.base)}${uri}?md5=${token}&expires=${expires}${rate}`);
      return 0;
    }
    const link = signLink({
      baseUrl: values.base,
      kind: values.kind,
      clientId: values.client!,
      videoId: values.video!,
      secret,
      file: values.file ?? "master.m3u8",
      ip: values.ip,
      ...when,
    });
    out(link);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = (error as Error).message;
    // A value pasted from the secret would be echoed back by the message that quotes it.
    if (message.includes(secret)) {
      throw new UsageError("sign: an option's value holds the SECRET; it is not shown here");
    }
    throw new UsageError(`sign: ${message}`);
  }
}

/**
 * The secret a stream or MP4 link of `client` is signed with, as the gate verifies it: its
 * first in CLIENT_SECRETS when that is set (a client not listed is refused: the gate refuses
 * its every link), else SECRET's first. CDN tokens always take SECRET.
 *
 * @throws UsageError for a CLIENT_SECRETS that does not parse or does not list the client.
 */
function clientSecretOf(
  client: string,
  file: string | undefined,
  secretFile: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const text = clientSecretsFrom(file ?? env.CLIENT_SECRETS_FILE, env);
  if (text === undefined || text.trim() === "") return signingSecretFrom(secretFile, env);
  let table: Record<string, string[]>;
  try {
    table = parseClientSecrets(text);
  } catch (error) {
    throw new UsageError(`sign: ${(error as Error).message}`);
  }
  const listed = Object.prototype.hasOwnProperty.call(table, client) ? table[client] : undefined;
  if (listed === undefined) {
    throw new UsageError(
      `sign: client ${client} is not in CLIENT_SECRETS: the gate refuses its links`,
    );
  }
  return listed[0];
}
