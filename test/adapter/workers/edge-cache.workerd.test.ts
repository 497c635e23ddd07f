/**
 * The Worker's cache copy, inside workerd (FixedLengthStream, the Cache API): a viewer that
 * never reads held its copy's share of the gathering budget for as long as its connection
 * stayed open, and two such viewers of large objects kept every other answer of the isolate
 * out of the cache (a review found it). A copy now has a deadline.
 */
import { describe, expect, it } from "vitest";
import {
  gatherBudget,
  intoCache,
  type GatherBudget,
} from "../../../src/adapter/workers/edge-cache.js";

/** An origin answer of `size` bytes that may be kept, its body produced as it is read. */
function keepable(size: number): Response {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = new Uint8Array(Math.min(65536, size - sent));
      sent += chunk.byteLength;
      controller.enqueue(chunk);
      if (sent === size) controller.close();
    },
  });
  return new Response(body, {
    status: 200,
    headers: { "content-length": String(size), "cache-control": "public, max-age=300" },
  });
}

/** `file`'s answer through intoCache with `budget`: what it returns, puts and leaves to finish. */
function copied(file: string, size: number, budget: GatherBudget) {
  const puts: string[] = [];
  const cache = {
    put: async (request: Request) => void puts.push(request.url),
  } as unknown as Cache;
  const work: Promise<unknown>[] = [];
  const answer = intoCache(
    cache,
    `https://origin.test/${file}`,
    new Request(`https://gate.test/${file}`),
    keepable(size),
    60,
    (promise) => work.push(promise),
    budget,
  );
  return { answer, puts, work };
}

describe("a copy for the cache, gathered while a viewer reads", () => {
  it("gives its share back at the deadline when the viewer never reads, and keeps nothing", async () => {
    const size = 4 * 1024 * 1024;
    const budget = gatherBudget(size, 100);
    const { answer, puts, work } = copied("a.bin", size, budget);
    expect(answer.headers.get("x-cache")).toBe("MISS");
    // Held while the copy is gathered: no room for another.
    expect(budget.take(1)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(budget.take(size)).toBe(true);
    budget.give(size);
    // The viewer reads it all after the deadline: it gets every byte, and nothing is kept.
    expect((await answer.arrayBuffer()).byteLength).toBe(size);
    await Promise.all(work);
    expect(puts).toEqual([]);
    expect(budget.take(size)).toBe(true);
  });

  it("keeps a copy its viewer read within the deadline", async () => {
    const budget = gatherBudget(1024 * 1024, 5000);
    const { answer, puts, work } = copied("b.bin", 200_000, budget);
    expect((await answer.arrayBuffer()).byteLength).toBe(200_000);
    await Promise.all(work);
    expect(puts).toEqual(["https://origin.test/b.bin"]);
    expect(budget.take(1024 * 1024)).toBe(true);
  });
});
