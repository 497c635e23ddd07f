/**
 * Leak scanning for suites that drive a gate: everything the gate wrote (log lines, answers'
 * heads and bodies) is checked for the secret and for any token that would verify. A token
 * "would verify" when it is the expected token of a link a suite sent, whether or not the
 * request carried it, so a gate that echoed the token it computed is caught too.
 */
import { parseLink, splitTarget } from "../../src/core/link.js";
import { signToken } from "../../src/core/token.js";

export interface LeakScanner {
  /** Notes a request target sent to the gate: its link's expected token becomes a secret too. */
  sent(target: string): void;
  /** Notes a token that verifies (e.g. one a suite signed itself). */
  token(token: string): void;
  /** Scans text the gate produced; remembers where a secret or valid token showed. */
  scan(text: string | Buffer, where: string): void;
  /** How many texts were scanned, how many tokens were watched, and every leak found. */
  readonly scanned: number;
  readonly watched: number;
  readonly leaks: string[];
}

const TOKEN_RUNS = /[A-Za-z0-9_-]{22,}/g;

/** The text with its percent escapes decoded where they decode; else as it is. */
function decoded(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return escapes;
    }
  });
}

export function leakScanner(secret: string): LeakScanner {
  const tokens = new Set<string>();
  const leaks: string[] = [];
  let scanned = 0;
  const scanner: LeakScanner = {
    sent(target) {
      const parsed = parseLink(splitTarget(target).path);
      if (!parsed.ok) return;
      const { clientId, videoId, expires } = parsed.link;
      try {
        tokens.add(signToken({ clientId, videoId, secret, expires }));
      } catch {
        // ids no signer may use cannot have a token that verifies
      }
    },
    token(token) {
      tokens.add(token);
    },
    scan(text, where) {
      scanned++;
      const value = typeof text === "string" ? text : text.toString("latin1");
      for (const form of [value, decoded(value)]) {
        if (form.includes(secret)) leaks.push(`${where}: the secret`);
        // Every 22-character window of every run of token characters: linear in the text,
        // whatever the number of tokens watched.
        for (const run of form.match(TOKEN_RUNS) ?? []) {
          for (let i = 0; i + 22 <= run.length; i++) {
            const window = run.slice(i, i + 22);
            if (tokens.has(window)) leaks.push(`${where}: token ${window.slice(0, 4)}…`);
          }
        }
      }
    },
    get scanned() {
      return scanned;
    },
    get watched() {
      return tokens.size;
    },
    leaks,
  };
  return scanner;
}
