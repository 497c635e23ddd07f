/**
 * The cache's admission sketch (`frequency.ts`) held to the behaviour of TinyLFU's reference,
 * Caffeine's FrequencySketch: estimates never below the true count (up to the 4-bit cap), few
 * collisions at its width, counters capped at 15, every counter halved after 10 × width
 * additions, and heavy hitters told apart from one-off keys.
 */
import { describe, expect, it } from "vitest";
import { frequencySketch, MAX_COUNT } from "../../../src/adapter/node/frequency.js";

describe("the frequency sketch", () => {
  it("never estimates a key below its true count, and seldom above it", () => {
    const sketch = frequencySketch(4096);
    const truth = new Map<string, number>();
    // Fewer additions than 10 × width, so no halving: counts are exact but for collisions,
    // which a quarter of the width in keys makes rare (all four rows must collide).
    for (let i = 0; i < 30_000; i++) {
      const key = `/videos/2675_v/seg-${(i * 7919) % 1000}.ts`;
      sketch.add(key);
      truth.set(key, (truth.get(key) ?? 0) + 1);
    }
    let over = 0;
    for (const [key, count] of truth) {
      const estimate = sketch.estimate(key);
      expect(estimate).toBeGreaterThanOrEqual(Math.min(count, MAX_COUNT));
      if (estimate > Math.min(count, MAX_COUNT)) over++;
    }
    expect(over / truth.size).toBeLessThan(0.05);
    expect(sketch.estimate("/never/asked.ts")).toBeLessThanOrEqual(1);
  });

  it("caps a counter at 15", () => {
    const sketch = frequencySketch(64);
    for (let i = 0; i < 40; i++) sketch.add("hot");
    expect(sketch.estimate("hot")).toBe(MAX_COUNT);
  });

  it("halves every counter after 10 × width additions, so old popularity fades", () => {
    const sketch = frequencySketch(64);
    for (let i = 0; i < 12; i++) sketch.add("old-hit");
    expect(sketch.estimate("old-hit")).toBe(12);
    // 640 additions in all: the 628 that follow, each a key of its own, bring the halving.
    let n = 0;
    while (sketch.additions !== 0 && sketch.additions < 640 - 1) sketch.add(`one-off-${n++}`);
    sketch.add(`one-off-${n++}`);
    expect(sketch.additions).toBe(320);
    expect(sketch.estimate("old-hit")).toBeGreaterThanOrEqual(6);
    expect(sketch.estimate("old-hit")).toBeLessThanOrEqual(7);
  });

  it("tells heavy hitters from a flood of one-off keys (Caffeine's heavyHitters)", () => {
    const sketch = frequencySketch(512);
    for (let i = 100; i < 100_000; i++) sketch.add(`k${i}`);
    for (let i = 0; i < 10; i += 2) for (let j = 0; j < i; j++) sketch.add(`k${i}`);
    // A perfect count is [0, 0, 2, 0, 4, 0, 6, 0, 8, 0]: the order holds, the keys never asked
    // for stay at or below the least of the hitters.
    const popularity = Array.from({ length: 10 }, (_, i) => sketch.estimate(`k${i}`));
    for (let i = 4; i < 10; i += 2) {
      expect(popularity[i]!).toBeGreaterThanOrEqual(popularity[i - 2]!);
    }
    for (let i = 1; i < 10; i += 2) expect(popularity[i]!).toBeLessThanOrEqual(popularity[2]!);
    expect(popularity[8]!).toBeGreaterThan(popularity[1]!);
  });
});
