import type { Queues } from '../queues/queues.js';

/** An answer only the clicker or the command's author sees, written through the notify queue. */
export function respondEphemeral(queues: Queues, responseUrl: string, text: string) {
  return queues.enqueue('notify', 'response', {
    kind: 'response',
    url: responseUrl,
    body: { response_type: 'ephemeral', replace_original: false, text },
  });
}
