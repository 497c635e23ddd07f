// Writes docs/configuration.md from the settings table (run after the build:
// `npm run docs:settings`).
import { mkdirSync, writeFileSync } from "node:fs";
import { configurationPage } from "../dist/cli/settings-doc.js";

mkdirSync("docs", { recursive: true });
writeFileSync("docs/configuration.md", configurationPage());
