/** Rendering of new Ward entries as YAML in the file's own style. Private to `kubeconfig/`. */
import { stringify } from "yaml";
import { KubeconfigError } from "./kubeconfig_error.ts";
import { type AddOptions, DEFAULT_EXEC_API_VERSION, type Section, wardName } from "./ward_entry.ts";

function checkUrl(what: string, value: string): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new KubeconfigError(`Invalid ${what} URL ${JSON.stringify(value)}`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new KubeconfigError(`Invalid ${what} URL ${JSON.stringify(value)}: must be http(s)`);
}

export function entryObjects(opts: AddOptions): Record<Section, Record<string, unknown>> {
  const name = wardName(opts.cluster);
  checkUrl("server", opts.server);
  if (opts.certificateAuthorityData && opts.insecureSkipTlsVerify) {
    throw new KubeconfigError("certificate-authority-data and insecure-skip-tls-verify cannot both be set");
  }
  const cluster: Record<string, unknown> = {};
  if (opts.certificateAuthorityData) cluster["certificate-authority-data"] = opts.certificateAuthorityData;
  if (opts.insecureSkipTlsVerify) cluster["insecure-skip-tls-verify"] = true;
  cluster["server"] = opts.server;

  let user: Record<string, unknown>;
  if (opts.user.kind === "token") {
    if (!opts.user.token) throw new KubeconfigError("empty token");
    user = { token: opts.user.token };
  } else {
    checkUrl("gateway", opts.user.gateway);
    const apiVersion = opts.user.apiVersion ?? DEFAULT_EXEC_API_VERSION;
    if (apiVersion !== "client.authentication.k8s.io/v1" && apiVersion !== "client.authentication.k8s.io/v1beta1") {
      throw new KubeconfigError(`Unsupported exec apiVersion ${JSON.stringify(apiVersion)}`);
    }
    const command = opts.user.command || "ward";
    const args = ["cluster", "kube-token", "--cluster", opts.cluster, "--gateway", opts.user.gateway];
    const fast = opts.user.fastPath;
    if (fast && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(fast.key)) throw new KubeconfigError(`Invalid cache key ${JSON.stringify(fast.key)}`);
    user = {
      exec: {
        apiVersion,
        args: fast ? ["-c", fast.script, command, fast.key, ...args] : args,
        command: fast ? "/bin/sh" : command,
        interactiveMode: "Never",
        provideClusterInfo: false,
      },
    };
  }
  const context: Record<string, unknown> = { cluster: name };
  if (opts.namespace) context["namespace"] = opts.namespace;
  context["user"] = name;
  return {
    clusters: { name, cluster },
    contexts: { name, context },
    users: { name, user },
  };
}

export interface Style {
  /** Block sequences indented under their key (`key:\n  - a`) rather than not (`key:\n- a`). */
  indentSeq: boolean;
  /** Columns a sequence is indented under its key when `indentSeq`. */
  seqIndent: number;
  /** Indentation of nested mappings. */
  indent: number;
  eol: string;
}

/** Renders one sequence item (`- name: ...`) as lines, each prefixed by `indent` spaces, ending in a newline. */
export function renderItem(obj: Record<string, unknown>, indent: number, style: Style): string {
  const text = stringify([obj], { indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0 });
  const pad = " ".repeat(indent);
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => pad + l + style.eol)
    .join("");
}

export function renderFlowItem(obj: Record<string, unknown>): string {
  // JSON-style double quotes: a multi-line string (the fast-path script) stays on the one line.
  return stringify(obj, { collectionStyle: "flow", flowCollectionPadding: false, lineWidth: 0, doubleQuotedAsJSON: true }).replace(/\n$/, "");
}

export function renderScalar(value: string): string {
  return stringify(value, { lineWidth: 0 }).replace(/\n$/, "");
}

export function renderFresh(objs: Record<Section, Record<string, unknown>>, current: string | undefined, style: Style): string {
  // The key order kubectl itself writes.
  const item = (s: Section) => renderItem(objs[s], style.indentSeq ? style.seqIndent : 0, { ...style, eol: "\n" }).replace(/\n$/, "");
  const lines: string[] = ["apiVersion: v1", "clusters:", item("clusters"), "contexts:", item("contexts")];
  if (current !== undefined) lines.push(`current-context: ${renderScalar(current)}`);
  lines.push("kind: Config", "preferences: {}", "users:", item("users"));
  return lines.join("\n").replace(/\n/g, style.eol) + style.eol;
}
