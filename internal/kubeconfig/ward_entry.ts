/** Ward-managed kubeconfig entries (`ward-<cluster>`): their names, the options that make them, what listing reports. */
import { CLUSTER_ID_RULE, isValidClusterId } from "../validate/index.ts";
import { KubeconfigError } from "./kubeconfig_error.ts";

export const WARD_PREFIX = "ward-";
export type ExecApiVersion = "client.authentication.k8s.io/v1" | "client.authentication.k8s.io/v1beta1";
/** v1beta1: kubectl 1.20 rejects v1 ("invalid apiVersion"); every newer kubectl accepts v1beta1. */
export const DEFAULT_EXEC_API_VERSION: ExecApiVersion = "client.authentication.k8s.io/v1beta1";

export type WardUser =
  | { kind: "token"; token: string }
  | {
      kind: "exec";
      /** Gateway URL passed as `--gateway`. */
      gateway: string;
      /** Default `ward`. */
      command?: string;
      /** Default v1beta1 (DEFAULT_EXEC_API_VERSION); v1 needs kubectl >= 1.22. */
      apiVersion?: ExecApiVersion;
      /**
       * A POSIX sh script kubectl runs instead (`/bin/sh -c script command key args…`): it may answer
       * from a cache entry named `key`, else it must exec `"$0" "$@"` (the command with its args).
       */
      fastPath?: { script: string; key: string };
    };

export interface AddOptions {
  /** Ward cluster id: lowercase letters, digits and `-`, 1–63 characters. */
  cluster: string;
  /** API server URL kubectl talks to (the gateway's proxy URL for this cluster). */
  server: string;
  /** Base64 PEM bundle for `certificate-authority-data`. */
  certificateAuthorityData?: string;
  insecureSkipTlsVerify?: boolean;
  user: WardUser;
  /** Default namespace of the context. */
  namespace?: string;
  /** Set `current-context` to this entry. */
  use?: boolean;
}

export interface AddResult {
  text: string;
  /** An existing `ward-<cluster>` entry set was replaced (rather than added). */
  replaced: boolean;
  changed: boolean;
}

export interface RemoveResult {
  text: string;
  /** At least one of cluster, user or context `ward-<cluster>` existed and was removed. */
  removed: boolean;
  changed: boolean;
  /**
   * `current-context` named `ward-<cluster>` and is now `""` (as `kubectl config unset
   * current-context` leaves it), so kubectl has no current context until one is chosen.
   */
  currentContextCleared: boolean;
}

export interface WardEntryInfo {
  /** Ward cluster id (name without the `ward-` prefix). */
  cluster: string;
  name: string;
  hasCluster: boolean;
  hasUser: boolean;
  hasContext: boolean;
  server?: string;
  namespace?: string;
  userKind?: "token" | "exec" | "other";
  current: boolean;
}

/** A Ward entry seen across several files, with the file each of its parts comes from. */
export interface MergedWardEntry extends WardEntryInfo {
  sources: { cluster?: string; user?: string; context?: string };
}

export function validateClusterId(id: string): void {
  if (!isValidClusterId(id)) {
    throw new KubeconfigError(`Invalid cluster id ${JSON.stringify(id)}: use ${CLUSTER_ID_RULE}`);
  }
}

export function wardName(cluster: string): string {
  validateClusterId(cluster);
  return WARD_PREFIX + cluster;
}

export type Section = "clusters" | "contexts" | "users";
export const SECTIONS: readonly Section[] = ["clusters", "contexts", "users"];
