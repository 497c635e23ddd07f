// The workerd test pool's module; `Env` comes from src/adapter/workers/worker-configuration.d.ts.
declare module "cloudflare:test" {
  export const SELF: Fetcher;
  export const env: Env;
}
