/** The one Range the caches answer from a kept object (src/http/range.ts), on Node and Workers. */
import { describe, expect, it } from "vitest";
import { singleRange } from "../../src/http/range.js";

describe("singleRange", () => {
  it.each([
    ["bytes=0-99", { first: 0, last: 99 }],
    ["bytes=5-", { first: 5, last: undefined }],
    ["bytes=-500", { first: undefined, last: 500 }],
    [" bytes=3-3 ", { first: 3, last: 3 }],
  ])("reads %j", (header, range) => {
    expect(singleRange(header)).toEqual(range);
  });

  it.each([
    undefined,
    null,
    "",
    "bytes=-",
    "bytes=5-2",
    "bytes=0-1,4-5",
    "items=0-1",
    "bytes=abc",
    "bytes = 0-1",
    "Bytes=0-1",
  ])("ignores %j (the whole object is sent)", (header) => {
    expect(singleRange(header)).toBeUndefined();
  });
});
