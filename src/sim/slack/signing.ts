import { createHmac } from 'node:crypto';

/** Slack's request signature: `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`). */
export function slackSignature(signingSecret: string, timestampS: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampS}:${rawBody}`).digest('hex')}`;
}

/** The headers Slack adds to every request it sends an app. */
export function signedHeaders(
  signingSecret: string,
  rawBody: string,
  timestampS: number,
): Record<string, string> {
  return {
    'x-slack-request-timestamp': String(timestampS),
    'x-slack-signature': slackSignature(signingSecret, timestampS, rawBody),
  };
}
