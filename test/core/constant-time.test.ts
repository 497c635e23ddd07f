/**
 * The token comparison takes one code path wherever a wrong token differs: V8's precise block
 * coverage (what `c8` and `--experimental-test-coverage` read) counts every block the call
 * runs, and the counts of a mismatch at the first character equal those at the last.
 */
import { Session } from "node:inspector/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { signToken, timingSafeEqual, verifyToken } from "../../src/core/token.js";

const SECRET = "constant-time-secret";
const LINK = { clientId: "2675", videoId: "3dk4NsRt6vWsffEr", expires: "1861919999" };
// Signed in each test, not at import: a mutant is active only once tests start.
let RIGHT!: string;
beforeEach(() => {
  RIGHT = signToken({ ...LINK, secret: SECRET });
});

/** The right token with character `at` changed to another token character. */
function wrongAt(at: number): string {
  const replacement = RIGHT[at] === "A" ? "B" : "A";
  return RIGHT.slice(0, at) + replacement + RIGHT.slice(at + 1);
}

interface Block {
  startOffset: number;
  endOffset: number;
  count: number;
}

describe("the token comparison", () => {
  const session = new Session();
  beforeAll(async () => {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
  });
  afterAll(async () => {
    await session.post("Profiler.stopPreciseCoverage");
    await session.post("Profiler.disable");
    session.disconnect();
  });

  /** Runs `work` and returns the blocks V8 counted in the named functions of token.ts. */
  async function blocksOf(names: string[], work: () => void): Promise<Record<string, Block[]>> {
    await session.post("Profiler.takePreciseCoverage"); // resets the counts
    work();
    const { result } = await session.post("Profiler.takePreciseCoverage");
    const script = result.find((entry) => /src\/core\/token\.ts/.test(entry.url));
    if (script === undefined) throw new Error("no coverage for token.ts");
    const out: Record<string, Block[]> = {};
    for (const name of names) {
      const fn = script.functions.find((f) => f.functionName === name);
      if (fn === undefined) throw new Error(`no coverage for ${name}`);
      out[name] = fn.ranges;
    }
    return out;
  }

  it("runs the same blocks, as often, for a mismatch at the first and at the last character", async () => {
    const names = ["verifyToken", "timingSafeEqual"];
    const verify = (token: string) => () => {
      for (let i = 0; i < 100; i++) {
        expect(verifyToken({ ...LINK, secret: SECRET, token, now: 0 })).toBe("bad-token");
      }
    };
    const first = await blocksOf(names, verify(wrongAt(0)));
    const last = await blocksOf(names, verify(wrongAt(21)));
    const middle = await blocksOf(names, verify(wrongAt(11)));
    expect(first.timingSafeEqual!.length).toBeGreaterThan(1); // the loop is a block of its own
    expect(last).toEqual(first);
    expect(middle).toEqual(first);
    // A right token takes the same comparison too; only what follows it differs.
    const right = await blocksOf(["timingSafeEqual"], () => {
      for (let i = 0; i < 100; i++) expect(timingSafeEqual(RIGHT, RIGHT)).toBe(true);
    });
    expect(right.timingSafeEqual).toEqual(first.timingSafeEqual);
  });

  it("would see an early exit: a comparison that returns at the first difference runs fewer blocks", async () => {
    // The same measurement on a comparison written the wrong way, so the test above can fail.
    const naive = (a: string, b: string) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      return a.length === b.length;
    };
    const count = async (token: string) => {
      await session.post("Profiler.takePreciseCoverage");
      for (let i = 0; i < 100; i++) naive(RIGHT, token);
      const { result } = await session.post("Profiler.takePreciseCoverage");
      const script = result.find((entry) => /constant-time\.test\.ts/.test(entry.url));
      return script?.functions.find((f) => f.functionName === "naive")?.ranges;
    };
    const first = await count(wrongAt(0));
    const last = await count(wrongAt(21));
    expect(first).toBeDefined();
    expect(last).not.toEqual(first);
  });
});
