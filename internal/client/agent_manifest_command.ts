/**
 * `ward agent manifest`: prints the agent's install YAML for one cluster. The join credential comes
 * from --token-file (the current one) or, only with --rotate-join, is minted now — which refuses the
 * old credential at once and disconnects a running agent, so it is never done silently.
 */
import { readFileSync } from "node:fs";
import { stringify } from "yaml";
import { UsageError, type Invocation } from "../cli/command.ts";
import { agentManifest, type ImpersonationMode } from "../install/index.ts";
import { CLUSTER_ID_RULE, isDns1123Label, isValidClusterId } from "../validate/index.ts";
import { api, credentialsFor, str } from "./commands.ts";
import { call, normalizeGatewayUrl } from "./http.ts";

export async function runAgentManifest(inv: Invocation): Promise<number> {
  const cluster = str(inv.flags, "cluster");
  if (!cluster) throw new UsageError("--cluster ID is required", inv.path);
  if (!isValidClusterId(cluster)) throw new UsageError(`--cluster ${JSON.stringify(cluster)}: ${CLUSTER_ID_RULE}`, inv.path);
  const namespace = str(inv.flags, "namespace") ?? "ward-system";
  if (!isDns1123Label(namespace)) throw new UsageError(`--namespace ${JSON.stringify(namespace)} is not a valid namespace name (lower-case DNS-1123 label)`, inv.path);
  const impersonation = impersonationMode(str(inv.flags, "constrained-impersonation") ?? "on", inv);
  const tokenFile = str(inv.flags, "token-file");
  const rotate = inv.flags["rotate-join"] === true;
  if (!tokenFile && !rotate) {
    throw new UsageError("Pass --token-file FILE with the cluster's current join credential, or --rotate-join to mint a new one (this disconnects a running agent until it gets the new one)", inv.path);
  }
  if (tokenFile && rotate) throw new UsageError("Pass either --token-file or --rotate-join, not both", inv.path);
  const image = str(inv.flags, "image");
  const creds = credentialsFor(inv);
  // The pin and the CA in the manifest are only as good as the connection they were read over.
  if (creds.gateway.insecureSkipTlsVerify) {
    throw new UsageError("The manifest pins what the gateway says, so the connection must be verified: pass its CA with --certificate-authority instead of --insecure-skip-tls-verify", inv.path);
  }
  const gatewayUrl = str(inv.flags, "agent-gateway-url") ? normalizeGatewayUrl(str(inv.flags, "agent-gateway-url")!) : creds.gateway.url;

  // The pin comes over the same verified connection as every other API call.
  const download = image ? undefined : await call<{ name: string; sha256: string }>(creds.gateway, "/download");
  let joinToken: string;
  if (rotate) {
    joinToken = (await api<{ join_token: string }>(creds, `/api/v1/clusters/${encodeURIComponent(cluster)}/rotate-join`, { method: "POST", json: {} })).join_token;
    inv.io.err(`Rotated the join credential of ${cluster}: the manifest holds the new one; agents running with the old one were disconnected.\n`);
  } else {
    try {
      joinToken = readFileSync(tokenFile!, "utf8").trim();
    } catch (e) {
      throw new UsageError(`Cannot read --token-file ${tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, inv.path);
    }
    if (!joinToken) throw new UsageError(`--token-file ${tokenFile} is empty`, inv.path);
  }
  const agentNatsUrl = str(inv.flags, "agent-nats-url");
  if (agentNatsUrl !== undefined && !agentNatsUrl.split(",").every((u) => /^wss?:\/\/[^\s,]+$/.test(u.trim()))) {
    throw new UsageError(`--agent-nats-url takes the NATS cluster's websocket URL(s), e.g. wss://nats.example.com (comma-separated), got ${JSON.stringify(agentNatsUrl)}`, inv.path);
  }
  const docs = agentManifest({
    cluster, namespace, gatewayUrl, agentNatsUrl: agentNatsUrl?.split(",").map((u) => u.trim()).join(","), joinToken, gatewayCaPem: creds.gateway.caPem, impersonation, image,
    download: download ? { name: download.name, sha256: download.sha256 } : undefined,
  });
  inv.io.out(docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n"));
  return 0;
}

function impersonationMode(v: string, inv: Invocation): ImpersonationMode {
  if (v === "on") return "constrained";
  if (v === "off") return "legacy";
  throw new UsageError(`--constrained-impersonation is on or off, got ${JSON.stringify(v)}`, inv.path);
}
