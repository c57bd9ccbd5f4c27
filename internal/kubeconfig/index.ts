// Public face of the kubeconfig module: pure editing of Ward-managed entries plus the file wrapper.
export {
  addWardEntry,
  DEFAULT_EXEC_API_VERSION,
  isValidClusterId,
  KubeconfigError,
  listWardEntries,
  mergeWardEntries,
  removeWardEntry,
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
} from "./edit.ts";
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
