/** The answer of a policy check: allowed, or refused with a reason fit for Slack and the journal. */
export type PolicyCheck = { ok: true } | { ok: false; reason: string };
