import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSecrets } from "../../src/core/settings.js";

describe("parseSecrets' shortcut for a lone secret", () => {
  it("reads every text as the full parse does (a leading space takes the full path)", () => {
    const piece = fc.constantFrom(
      "a",
      "s3cret",
      " ",
      "\n",
      "\r\n",
      "\t",
      ",",
      "é",
      "x,y",
      "\u00a0",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 6 }).map((parts) => parts.join("")),
        (text) => {
          const read = (value: string) => {
            try {
              return parseSecrets("SECRET", value);
            } catch (error) {
              return (error as Error).message;
            }
          };
          expect(read(text), JSON.stringify(text)).toEqual(read(` ${text}`));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
