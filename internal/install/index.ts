/** Agent install: the manifest (`ward agent manifest`), its RBAC rules and the init step's script. */
export { agentManifest, DEFAULT_BASE_IMAGE, DEFAULT_FETCH_IMAGE, METRICS_PORT, NAME, RESOURCES, type ManifestOptions } from "./manifest.ts";
export { agentRules, BUILTIN_ROLES, REQUEST_VERBS, type ImpersonationMode, type PolicyRule } from "./rbac_rules.ts";
export { INIT_SCRIPT } from "./init_script.ts";
