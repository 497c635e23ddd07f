/**
 * The behaviour table of the README as data, run against every way the gate is served from
 * Node tests (the Worker in Miniflare, the Node server), each with a real origin behind it.
 */
import { signedPath } from "./links.js";

export interface Row {
  name: string;
  method?: string;
  /** Raw path and query, sent exactly as written. */
  path: () => string;
  status: number;
  /** What the origin must have been asked for, when the gate proxies. */
  originPath?: string;
  allow?: string;
}

const now = () => Math.floor(Date.now() / 1000);
const valid = (file = "720/seg-1.ts") => signedPath(file);
const swap = (file: string, from: string, to: string) => () => valid(file).replace(from, to);

export const ROWS: Row[] = [
  { name: "a path outside the prefixes", path: () => "/other/2675_a/x/1/y", status: 404 },
  { name: "the site root", path: () => "/", status: 404 },
  {
    name: "POST under a prefix",
    method: "POST",
    path: () => valid(),
    status: 405,
    allow: "GET, HEAD",
  },
  {
    name: "DELETE under a prefix",
    method: "DELETE",
    path: () => valid(),
    status: 405,
    allow: "GET, HEAD",
  },
  { name: "a double slash", path: swap("720/seg-1.ts", "720/", "720//"), status: 403 },
  { name: "an encoded slash", path: swap("720/seg-1.ts", "720/", "720%2F"), status: 403 },
  { name: "an encoded backslash", path: swap("720/seg-1.ts", "720/", "720%5c"), status: 403 },
  { name: "an encoded NUL", path: swap("720/seg-1.ts", "seg-1", "seg%00"), status: 403 },
  { name: "an encoded control byte", path: swap("720/seg-1.ts", "seg-1", "seg%1b"), status: 403 },
  {
    name: "an overlong UTF-8 dot segment",
    path: swap("720/seg-1.ts", "720/", "%c0%ae%c0%ae/"),
    status: 403,
  },
  { name: "an empty file", path: swap("720/seg-1.ts", "/720/seg-1.ts", "/"), status: 403 },
  { name: "no underscore in the id", path: swap("720/seg-1.ts", "2675_", "2675"), status: 403 },
  {
    name: "a short token",
    path: () => valid().replace(/\/[A-Za-z0-9_-]{22}\//, "/abc/"),
    status: 403,
  },
  {
    name: "expires with a leading zero",
    path: () => valid().replace(/\/(\d+)\//, "/0$1/"),
    status: 403,
  },
  {
    name: "a wrong token",
    path: () => signedPath("720/seg-1.ts", { secret: "wrong" }),
    status: 403,
  },
  {
    name: "a wrong token on an expired link",
    path: () => signedPath("720/seg-1.ts", { secret: "wrong", expires: now() - 60 }),
    status: 403,
  },
  { name: "an expired link", path: () => signedPath("a.ts", { expires: now() - 60 }), status: 410 },
  {
    name: "a valid link",
    path: () => valid("720/seg-1.ts"),
    status: 200,
    originPath: "/videos/2675_3dk4NsRt6vWsffEr/720/seg-1.ts",
  },
  {
    name: "a valid live link with ?part=4",
    path: () => valid("live/chunk.ts") + "?part=4",
    status: 200,
    originPath: "/videos/2675_3dk4NsRt6vWsffEr/live/chunk.ts?part=4",
  },
  {
    name: "a valid cmaf link",
    path: () => signedPath("init.mp4", { kind: "cmaf" }),
    status: 200,
    originPath: "/cmaf/2675_3dk4NsRt6vWsffEr/init.mp4",
  },
  {
    name: "a video id with underscores",
    path: () => signedPath("a.ts", { video: "abc_def" }),
    status: 200,
    originPath: "/videos/2675_abc_def/a.ts",
  },
];

/**
 * Traversal attempts. Where the runtime resolves dot segments before the gate sees them
 * (workerd) a request may still be served, but only from the signed video's own folder.
 */
export const TRAVERSALS: (() => string)[] = [
  swap("720/seg-1.ts", "720/seg-1.ts", "../../2675_other/720/seg-1.ts"),
  swap("720/seg-1.ts", "720/seg-1.ts", "%2e%2e/%2e%2e/2675_other/x.ts"),
  swap("720/seg-1.ts", "720/seg-1.ts", "%2E%2E/x.ts"),
  swap("720/seg-1.ts", "720/seg-1.ts", ".%2e/.%2e/.%2e/etc/passwd"),
  swap("720/seg-1.ts", "720/seg-1.ts", "./x.ts"),
  swap("720/seg-1.ts", "720/seg-1.ts", "x/../../../../etc/passwd"),
  swap("720/seg-1.ts", "720/seg-1.ts", "..\\..\\2675_other\\x.ts"),
  swap("720/seg-1.ts", "720/seg-1.ts", "..%5c..%5c2675_other%5cx.ts"),
  swap("720/seg-1.ts", "720/seg-1.ts", "..%2f..%2f2675_other%2fx.ts"),
  () => "/videos/2675_other/../" + valid().slice("/videos/".length),
];
