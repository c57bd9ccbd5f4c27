/** A DNS-1123 label: what Kubernetes accepts as a namespace name, and the shape of every Ward id. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** How to write one, for error messages. */
export const DNS1123_LABEL_RULE = "1-63 lowercase letters, digits and '-', starting and ending with a letter or digit";

export function isDns1123Label(s: string): boolean {
  return DNS1123_LABEL.test(s);
}
