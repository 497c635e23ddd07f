declare namespace Cloudflare {
  interface Env {
    SECRET: string;
    ORIGIN_URL: string;
  }
}
declare module "cloudflare:test" {
  export const SELF: Fetcher;
  export const env: Cloudflare.Env;
}
