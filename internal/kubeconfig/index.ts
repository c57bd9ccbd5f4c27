// Public face of the kubeconfig module: pure editing of Ward-managed entries plus the file wrapper.
export { addWardEntry, removeWardEntry } from "./edit.ts";
export { KubeconfigError } from "./kubeconfig_error.ts";
export { listWardEntries, mergeWardEntries } from "./list_ward_entries.ts";
export {
  DEFAULT_EXEC_API_VERSION,
  validateClusterId,
  WARD_PREFIX,
  wardName,
  type AddOptions,
  type AddResult,
  type ExecApiVersion,
  type MergedWardEntry,
  type RemoveResult,
  type WardEntryInfo,
  type WardUser,
} from "./ward_entry.ts";
export { defaultNamespace, type ScopedGrant } from "./default_namespace.ts";
export {
  editKubeconfigFile,
  kubeconfigPaths,
  listWardEntriesAcross,
  readKubeconfig,
  resolveKubeconfigPath,
  writeFileAtomic,
  type ResolveOptions,
} from "./file.ts";
