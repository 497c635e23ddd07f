import { signToken } from "../../src/core/token.js";

export const SECRET = "node-test-secret";

/** A signed link path for client 2675 and `video`, valid for an hour unless told otherwise. */
export function signedPath(
  file: string,
  options: { video?: string; expires?: number; secret?: string; kind?: string; ip?: string } = {},
): string {
  const expires = options.expires ?? Math.floor(Date.now() / 1000) + 3600;
  const video = options.video ?? "3dk4NsRt6vWsffEr";
  const token = signToken({
    clientId: "2675",
    videoId: video,
    secret: options.secret ?? SECRET,
    expires,
    ip: options.ip,
  });
  return `/${options.kind ?? "videos"}/2675_${video}/${token}/${expires}/${file}`;
}
