/**
 * `--print-config`: the effective settings as a YAML config file (the same keys `--config` reads),
 * each value followed by where it came from, secrets redacted. Pure.
 */
import { formatConfigDuration, type Origin, type Spec, type SettingSpec } from "./index.ts";

export const REDACTED = "***";

const ORIGIN_TEXT: Record<Origin, (s: SettingSpec) => string> = {
  flag: (s) => `--${s.flag}`,
  env: (s) => s.env,
  file: () => "config file",
  default: () => "default",
};

/** The value as the file would hold it, secrets replaced. */
function shown(s: SettingSpec, value: string | number | boolean): string {
  if (s.kind === "duration") return formatConfigDuration(value as number);
  if (s.kind === "boolean" || s.kind === "number") return String(value);
  const text = String(value);
  if (s.secret && text !== "") return JSON.stringify(s.secret === true ? REDACTED : s.secret(text));
  return JSON.stringify(text); // a double-quoted YAML scalar: any string reads back unchanged
}

interface Node {
  children: Map<string, Node>;
  line?: string;
}

/**
 * Renders `values` (resolved from `spec`) as YAML. `header` lines become comments at the top.
 * Nested keys (`tls.cert`) nest as they do in the file; the order is the spec's.
 */
export function formatSettings(spec: Spec, values: Record<string, unknown>, origins: Record<string, Origin>, header: readonly string[] = []): string {
  const root: Node = { children: new Map() };
  for (const [name, s] of Object.entries(spec)) {
    const parts = s.key.split(".");
    let node = root;
    for (const part of parts) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { children: new Map() }));
      node = next;
    }
    node.line = `${shown(s, values[name] as string | number | boolean)}  # ${ORIGIN_TEXT[origins[name] ?? "default"](s)}`;
  }
  const out = header.map((h) => `# ${h}`);
  const walk = (node: Node, indent: string) => {
    for (const [key, child] of node.children) {
      if (child.line !== undefined) out.push(`${indent}${key}: ${child.line}`);
      else {
        out.push(`${indent}${key}:`);
        walk(child, indent + "  ");
      }
    }
  };
  walk(root, "");
  return out.join("\n") + "\n";
}
