/**
 * Baseline e2e (no Ward involved): the kubectl baseline run directly against a real kube-apiserver
 * with both kubectls — the machine's newest (WebSocket streaming) and Debian's 1.20 (SPDY only).
 * Later suites run the same baseline through Ward by swapping the kubeconfig.
 */
import { test } from "node:test";
import { useKubeEnv } from "../helpers/kube-env.ts";
import { runKubectlBaseline } from "../helpers/kubectl-baseline.ts";

const kube = useKubeEnv();

for (const which of ["newest", "spdy"] as const) {
  test(`kubectl baseline, direct, ${which} kubectl`, async (t) => {
    const env = kube();
    await runKubectlBaseline(t, {
      kubectl: env.kubectl[which],
      kubeconfig: env.kubeconfig,
      namespace: env.namespace,
      node: env.node,
      pod: env.pod,
      container: env.container,
      podPort: env.podPort,
      appendLog: (text) => env.appendLog(text),
    });
  });
}
