// The short run of every fuzz target (test/helpers/fuzz/): each property with its `quickRuns`, from
// a fresh seed each time. A failure prints the seed and path; `node scripts/fuzz.ts --target NAME
// --property K --seed=S --path=P` (printed with it) replays it. The long run is `npm run fuzz`.
import { test } from "node:test";
import fc from "fast-check";
import { FUZZ_TARGETS } from "../test/helpers/fuzz/index.ts";

for (const target of FUZZ_TARGETS) {
  for (const [i, p] of target.properties.entries()) {
    test(`fuzz ${target.name} ${i + 1}: ${p.name}`, async () => {
      const d = await p.check({ numRuns: p.quickRuns });
      if (!d.failed) return;
      const replay = `node scripts/fuzz.ts --target ${target.name} --property ${i + 1} --seed=${d.seed} --path=${d.counterexamplePath}`;
      throw new Error(`${target.name} ${i + 1}: ${p.name}\n${fc.defaultReportMessage(d)}\nreplay: ${replay}`);
    });
  }
}
