import type { SlackClient } from './deps.js';

/**
 * Whether a user may approve. Approvers are user ids and/or user groups; groups are resolved on
 * every check (approvals are rare) so a user removed from the group loses the right at once.
 */
export async function isApprover(
  client: SlackClient,
  approvers: readonly string[],
  userId: string,
): Promise<boolean> {
  if (approvers.includes(userId)) return true;
  for (const group of approvers.filter((a) => a.startsWith('S'))) {
    const result = await client.usergroups.users.list({ usergroup: group });
    if (result.users?.includes(userId)) return true;
  }
  return false;
}
