/** `scripts/kube-env up|down` (in progress). */
export async function up(_flags: Record<string, string>): Promise<string> {
  throw new Error("kube-env up is not implemented yet");
}
export async function down(_flags: Record<string, string>): Promise<void> {
  throw new Error("kube-env down is not implemented yet");
}
