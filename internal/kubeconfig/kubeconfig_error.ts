/** The one error of kubeconfig parsing and editing, with the input line when known. */
export class KubeconfigError extends Error {
  /** 1-based line of the problem in the input, when known. */
  line: number | undefined;
  constructor(message: string, line?: number) {
    super(message);
    this.name = "KubeconfigError";
    this.line = line;
  }
}
