/**
 * `tokengate sign`: prints a signed link.
 * @module
 */
import { parseArgs } from "node:util";
import { parseTtl, signLink } from "../sign.js";
import { HELP_FLAG, parsedArgs, secretFrom, UsageError } from "./args.js";
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
        help: HELP_FLAG,
      },
    }),
  );
  if (values.help) return (out(HELP.sign), 0);
  if (values.client === undefined) throw new UsageError("sign: --client is required");
  if (values.video === undefined) throw new UsageError("sign: --video is required");
  if (values.ttl !== undefined && values.expires !== undefined) {
    throw new UsageError("sign: give --ttl or --expires, not both");
  }
  const secret = secretFrom(values["secret-file"], env);
  if (secret === undefined) {
    throw new UsageError("sign: no secret: pass --secret-file PATH or set SECRET");
  }
  try {
    const link = signLink({
      baseUrl: values.base,
      kind: values.kind,
      clientId: values.client,
      videoId: values.video,
      secret,
      file: values.file ?? "master.m3u8",
      ...(values.expires !== undefined
        ? { expires: values.expires }
        : { ttlSeconds: parseTtl(values.ttl ?? "24h") }),
    });
    out(link);
    return 0;
  } catch (error) {
    const message = (error as Error).message;
    // A value pasted from the secret would be echoed back by the message that quotes it.
    if (message.includes(secret)) {
      throw new UsageError("sign: an option's value holds the SECRET; it is not shown here");
    }
    throw new UsageError(`sign: ${message}`);
  }
}
