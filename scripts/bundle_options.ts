/**
 * How dist/ward's parts are bundled (esbuild): shared by the build and by bench-proxy's idle floor
 * hop, which must be bundled the same way for its idle RSS to compare with the agent's.
 *
 * A part's whole bundle stays in V8's heap as source text for the life of the process, so what goes
 * in is chosen, not just what runs: `undici` resolves to the modules Ward and client-node use
 * (cmd/_undici_bundle.ts), and client-node's generated models are cut to those its API classes in
 * the part can return (clientNodeModels below).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Metafile, Plugin } from "esbuild";

const root = new URL("..", import.meta.url).pathname;

/** `undici` → cmd/_undici_bundle.ts, for every importer (Ward's code and client-node's). */
const undiciEntry: Plugin = {
  name: "ward-undici-entry",
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: join(root, "cmd", "_undici_bundle.ts") }));
  },
};

export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: "node" as const,
  format: "cjs" as const,
  target: "node24",
  minify: true,
  legalComments: "none" as const,
  logLevel: "warning" as const,
  plugins: [undiciEntry],
};

/** The input files whose code made it into a bundle (tree shaking leaves some imported files at 0 bytes). */
function bundled(meta: Metafile): string[] {
  return Object.values(meta.outputs).flatMap((o) => Object.entries(o.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([f]) => f));
}

/** Fails when a bundle took undici's index after all (a new importer that the plugin did not see). */
export function assertSlimUndici(meta: Metafile, part: string): void {
  const index = bundled(meta).find((f) => /node_modules\/undici\/index\.js$/.test(f));
  if (index) throw new Error(`the ${part} bundle includes undici's index (${index}); import undici by name so cmd/_undici_bundle.ts stands in for it`);
}

type Model = { getAttributeTypeMap?: () => readonly { type: string }[] };
const GEN = /@kubernetes[\\/]client-node[\\/]dist[\\/]gen[\\/]/;

/**
 * client-node's generated `ObjectSerializer` names all 757 model classes in one map, so any API
 * class brings every model into the bundle: 360 KiB of minified source and 757 classes, with their
 * attribute tables, built at every start. The serializer looks a type up in that map and walks its
 * attributes; a type it does not find passes through as parsed JSON. Given the API classes a part
 * uses (`RbacAuthorizationV1Api`), this keeps the models their requests and responses can reach
 * (every type named in the API files, then every attribute's type, transitively) and drops the rest
 * from the serializer's imports, its map and `models/all.js`: the part serializes and deserializes
 * exactly as with the full map. The build checks the API classes in the bundle are the ones named
 * (assertApis), and fails here if the generated files no longer have the shape this edits.
 */
export async function clientNodeModels(apis: readonly string[]): Promise<{ plugin: Plugin; kept: ReadonlySet<string>; assertApis: (meta: Metafile, part: string) => void }> {
  const gen = join(dirname(createRequire(import.meta.url).resolve("@kubernetes/client-node/package.json")), "dist", "gen");
  const models = (await import(join(gen, "models", "all.js"))) as Record<string, Model>;
  const kept = new Set<string>();
  const visit = (type: string): void => {
    const inner = type.replace(/^Array<(.*)>$/, "$1").replace(/^\{ \[key: string\]: (.*); \}$/, "$1");
    if (inner !== type) return visit(inner);
    const model = models[type];
    if (kept.has(type) || typeof model?.getAttributeTypeMap !== "function") return;
    kept.add(type);
    for (const a of model.getAttributeTypeMap()) visit(a.type);
  };
  for (const api of apis) for (const m of readFileSync(join(gen, "apis", `${api}.js`), "utf8").matchAll(/"(\w+)"/g)) visit(m[1]!);
  if (kept.size === 0) throw new Error(`no client-node models found for ${apis.join(", ")}`);

  const lineModel = (line: string) =>
    line.match(/^export \* from '\.\.\/models\/(\w+)\.js';$/)?.[1] ?? line.match(/^import \{ (\w+) \} from '\.\.\/models\/\w+\.js';$/)?.[1] ?? line.match(/^ {4}"(\w+)": \w+,?$/)?.[1];
  const prune = (file: string, source: string, expected: number) => {
    const lines = source.split("\n");
    const out = lines.filter((l) => {
      const m = lineModel(l);
      return m === undefined || kept.has(m);
    });
    const mentions = out.filter((l) => lineModel(l) !== undefined).length;
    if (mentions !== expected * kept.size) {
      throw new Error(`client-node's ${file} is not shaped as scripts/bundle_options.ts expects (kept ${mentions} model lines for ${kept.size} models); update clientNodeModels`);
    }
    return out.join("\n");
  };
  const plugin: Plugin = {
    name: "ward-client-node-models",
    setup(b) {
      // ObjectSerializer.js: re-exports, imports and map entries (three lines per model); all.js: re-exports.
      b.onLoad({ filter: /client-node[\\/]dist[\\/]gen[\\/]models[\\/](ObjectSerializer|all)\.js$/ }, (args) => {
        const serializer = args.path.endsWith("ObjectSerializer.js");
        return { contents: prune(serializer ? "ObjectSerializer.js" : "all.js", readFileSync(args.path, "utf8"), serializer ? 3 : 1), loader: "js" };
      });
    },
  };
  const assertApis = (meta: Metafile, part: string) => {
    const inBundle = bundled(meta).filter((f) => GEN.test(f) && /[\\/]apis[\\/]\w+Api\.js$/.test(f)).map((f) => f.match(/(\w+)\.js$/)![1]!);
    const missing = inBundle.filter((a) => !apis.includes(a));
    if (missing.length) throw new Error(`the ${part} bundle uses client-node's ${missing.join(", ")}: name it in clientNodeModels so its models are kept`);
  };
  return { plugin, kept, assertApis };
}
