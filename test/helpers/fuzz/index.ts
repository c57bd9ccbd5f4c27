/**
 * The fuzz targets, in the order they run: `internal/fuzz.test.ts` runs each property briefly in
 * `npm test`, `scripts/fuzz.ts` for as long as asked. A new target goes in its own file here and in
 * this list.
 */
import { frameDecoderTarget } from "./frame_decoder.ts";
import type { FuzzTarget } from "./fuzz_target.ts";
import { headerPolicyTarget } from "./header_policy.ts";
import { kubeconfigEditorTarget } from "./kubeconfig_editor.ts";
import { natsParserTarget } from "./nats_parser.ts";
import { proxyPathTarget } from "./proxy_path.ts";

export type { FuzzProperty, FuzzTarget } from "./fuzz_target.ts";

export const FUZZ_TARGETS: readonly FuzzTarget[] = [frameDecoderTarget, natsParserTarget, proxyPathTarget, headerPolicyTarget, kubeconfigEditorTarget];
