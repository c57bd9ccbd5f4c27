/** A DNS-1123 label: what Kubernetes accepts as a namespace name, and the shape of every Ward id. */
/**
 * The rule as an HTML `pattern` (browsers anchor it and compile it with the `v` flag, where a
 * literal `-` in a class must be escaped), so a form checks exactly what the server checks.
 */
export const DNS1123_LABEL_PATTERN = "[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?";
const DNS1123_LABEL = new RegExp(`^(?:${DNS1123_LABEL_PATTERN})$`, "v");

/** How to write one, for error messages. */
export const DNS1123_LABEL_RULE = "1-63 lowercase letters, digits and '-', starting and ending with a letter or digit";

export function isDns1123Label(s: string): boolean {
  return DNS1123_LABEL.test(s);
}
