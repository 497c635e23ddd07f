/**
 * The configuration reference, `docs/configuration.md`, written from the settings table by
 * `npm run docs:settings` (a test fails when the committed page differs).
 * @module
 */
import { NGINX_FLAGS, SETTINGS, type SettingSpec } from "../core/settings-table.js";

const RUNTIME_NAMES = { node: "Node", worker: "Worker", nginx: "nginx" } as const;

/** A table cell: no pipe or newline splits it. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** Prose wrapped at 100 characters (the docs keep lines within 120), `indent` before the rest. */
function wrap(text: string, indent = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.replace(/\s+/g, " ").trim().split(" ")) {
    if (line !== "" && line.length + 1 + word.length > 100) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/**
 * The page for a table of settings and a table of flags alone.
 *
 * @example
 * ```ts
 * writeFileSync("docs/configuration.md", configurationPage(SETTINGS, NGINX_FLAGS));
 * ```
 */
export function configurationPage(
  settings: Record<string, SettingSpec> = SETTINGS,
  flags: Record<string, SettingSpec> = NGINX_FLAGS,
): string {
  const specs = Object.values(settings);
  const lines = [
    "# Configuration reference",
    "",
    "<!-- Generated from src/core/settings-table.ts by `npm run docs:settings`: edit the table, not this page. -->",
    "",
    "Each setting is an environment variable (on the Worker, a binding), and on the CLI a flag",
    "that overrides it. An invalid value stops start-up (the Worker: answers 500) with one line",
    "naming the setting, never the secret.",
    "",
    "| Setting | Flag | Runtimes |",
    "| --- | --- | --- |",
  ];
  for (const spec of specs) {
    lines.push(
      `| [${spec.env}](#${spec.env!.toLowerCase()}) | ${cell(flagOf(spec))} | ${spec.runtimes.map((r) => RUNTIME_NAMES[r]).join(", ")} |`,
    );
  }
  lines.push("");
  for (const spec of specs) {
    lines.push(`## ${spec.env}`, "", ...wrap(cell(spec.docs)), "");
    if (spec.flag !== undefined) {
      const env = spec.fileEnv === undefined ? "" : ` (or \`${spec.fileEnv}\`)`;
      lines.push(`- Flag: ${flagOf(spec)}${env}, of ${spec.commands.join(" and ")}`);
    }
    lines.push(`- Runtimes: ${spec.runtimes.map((r) => RUNTIME_NAMES[r]).join(", ")}`);
    if (spec.worker !== undefined) {
      lines.push(
        `- Worker: ${spec.worker === "secret" ? "a secret (`wrangler secret put`)" : "a `[vars]` entry"}`,
      );
    }
    lines.push(`- Default: ${spec.default === "" ? "none" : `\`${spec.default}\``}`, "");
  }
  lines.push("## Flags of `nginx-config` alone", "");
  for (const spec of Object.values(flags)) {
    lines.push(...wrap(`- ${flagOf(spec)}: ${spec.docs} Default: \`${spec.default}\`.`, "  "));
  }
  return lines.join("\n") + "\n";
}

function flagOf(spec: SettingSpec): string {
  if (spec.flag === undefined) return "—";
  return `\`--${spec.flag}${spec.arg === undefined ? "" : ` ${spec.arg}`}\``;
}
