/**
 * Prints the configuration reference tables generated from cmd/specs.ts, or with `--write` puts
 * them into README.md between its markers (cmd/config_reference.test.ts fails until you do).
 *
 *   node scripts/config-reference.ts           print
 *   node scripts/config-reference.ts --write   update README.md
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configReference, replaceReference } from "../cmd/config_reference.ts";

const readmePath = join(import.meta.dirname, "..", "README.md");
if (process.argv.includes("--write")) {
  const before = readFileSync(readmePath, "utf8");
  const after = replaceReference(before, configReference());
  if (after !== before) writeFileSync(readmePath, after);
  console.log(after === before ? "README.md: configuration reference up to date" : "README.md: configuration reference updated");
} else {
  console.log(configReference());
}
