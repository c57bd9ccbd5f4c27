/**
 * How dist/ward's parts are bundled (esbuild): shared by the build and by bench-proxy's idle floor
 * hop, which must be bundled the same way for its idle RSS to compare with the agent's.
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: "node" as const,
  format: "cjs" as const,
  target: "node24",
  minify: true,
  legalComments: "none" as const,
  logLevel: "warning" as const,
};
