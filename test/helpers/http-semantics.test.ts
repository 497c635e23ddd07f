/** The test origins answer as a real static server: held to RFC 9110 here. */
import { describe, expect, it } from "vitest";
import { answerFor, type Resource } from "./http-semantics.js";

const resource: Resource = {
  body: new TextEncoder().encode("0123456789"),
  etag: '"abc"',
  lastModified: "Wed, 21 Oct 2015 07:28:00 GMT",
  headers: { "content-type": "text/plain" },
};
const ask = (headers: Record<string, string>, method = "GET") => {
  const answer = answerFor(method, (name) => headers[name], resource);
  return {
    status: answer.status,
    range: answer.headers["content-range"],
    body: answer.body === undefined ? undefined : new TextDecoder().decode(answer.body),
  };
};

describe("answerFor", () => {
  it.each([
    [{}, 200, undefined, "0123456789"],
    [{ range: "bytes=2-4" }, 206, "bytes 2-4/10", "234"],
    [{ range: "bytes=7-" }, 206, "bytes 7-9/10", "789"],
    [{ range: "bytes=0-" }, 206, "bytes 0-9/10", "0123456789"],
    [{ range: "bytes=-3" }, 206, "bytes 7-9/10", "789"],
    [{ range: "bytes=-30" }, 206, "bytes 0-9/10", "0123456789"],
    [{ range: "bytes=5-99" }, 206, "bytes 5-9/10", "56789"],
    [{ range: "bytes=10-" }, 416, "bytes */10", undefined],
    [{ range: "bytes=-0" }, 416, "bytes */10", undefined],
    [{ range: "bytes=5-2" }, 416, "bytes */10", undefined],
    [{ range: "bytes=a-b" }, 416, "bytes */10", undefined],
    [{ range: "bytes=0-1,4-5" }, 200, undefined, "0123456789"],
    [{ range: "items=0-1" }, 200, undefined, "0123456789"],
    [{ range: "bytes=0-1", "if-range": '"abc"' }, 206, "bytes 0-1/10", "01"],
    [{ range: "bytes=0-1", "if-range": 'W/"abc"' }, 200, undefined, "0123456789"],
    [{ range: "bytes=0-1", "if-range": '"old"' }, 200, undefined, "0123456789"],
    [{ range: "bytes=0-1", "if-range": resource.lastModified! }, 206, "bytes 0-1/10", "01"],
    [
      { range: "bytes=0-1", "if-range": "Tue, 20 Oct 2015 07:28:00 GMT" },
      200,
      undefined,
      "0123456789",
    ],
    [{ "if-none-match": '"abc"' }, 304, undefined, undefined],
    [{ "if-none-match": 'W/"abc"' }, 304, undefined, undefined],
    [{ "if-none-match": '"x", W/"abc"' }, 304, undefined, undefined],
    [{ "if-none-match": "*" }, 304, undefined, undefined],
    [{ "if-none-match": '"x"' }, 200, undefined, "0123456789"],
    // If-None-Match, when present, decides alone (RFC 9110 §13.2.2).
    [
      { "if-none-match": '"x"', "if-modified-since": resource.lastModified! },
      200,
      undefined,
      "0123456789",
    ],
    [{ "if-modified-since": resource.lastModified! }, 304, undefined, undefined],
    [{ "if-modified-since": "Tue, 20 Oct 2015 07:28:00 GMT" }, 200, undefined, "0123456789"],
    [{ "if-match": '"x"' }, 412, undefined, undefined],
    [{ "if-match": 'W/"abc"' }, 412, undefined, undefined],
    [{ "if-unmodified-since": "Tue, 20 Oct 2015 07:28:00 GMT" }, 412, undefined, undefined],
    [{ "if-none-match": '"abc"', range: "bytes=0-1" }, 304, undefined, undefined],
  ])("%j → %i %s", (headers, status, range, body) => {
    expect(ask(headers)).toEqual({ status, range, body });
  });

  it("answers HEAD with the headers of the whole and no body, whatever the Range", () => {
    const answer = answerFor(
      "HEAD",
      (name) => (name === "range" ? "bytes=0-1" : undefined),
      resource,
    );
    expect(answer.status).toBe(200);
    expect(answer.headers["content-length"]).toBe("10");
    expect(answer.body).toBeUndefined();
  });
});
