import type { Policy } from '../schema.js';
import { containsTokens, gpuNameTokens } from './gpu-name.js';
import type { PolicyCheck } from './types.js';

/**
 * Rule 3: never rent a blocked GPU (the RTX 5090 has no kernels in PyTorch <= 2.6). The match
 * ignores case, spacing and vendor words, and a blocked name matches any name that contains it
 * as whole tokens: "RTX 5090" blocks "rtx_5090", "GeForce RTX 5090" and "RTX5090 D", but not
 * "RTX 50900". A name we cannot read at all is refused rather than waved through.
 */
export function checkGpuAllowed(gpuName: string, policy: Pick<Policy, 'gpu_blocklist'>): PolicyCheck {
  const tokens = gpuNameTokens(gpuName);
  if (tokens.length === 0) return { ok: false, reason: `not a GPU model name: ${JSON.stringify(gpuName)}` };
  for (const blocked of policy.gpu_blocklist) {
    if (containsTokens(tokens, gpuNameTokens(blocked.gpu))) {
      return { ok: false, reason: `${gpuName} is blocked (${blocked.gpu}): ${blocked.reason}` };
    }
  }
  return { ok: true };
}
