import { type FakeRequest, lastToolResults, lastUserText } from './request.js';
import type { FakeStep } from './script.js';

/**
 * What the fake model does when no step is scripted (the demo): look at the fleet with the
 * tools first (run_detail for a run named in the question, else fleet_status), then answer by
 * quoting what the tools returned. Good enough to show the tool loop end to end without an API key.
 */

const QUOTE_MAX = 1200;

function toolNames(request: FakeRequest): string[] {
  return (request.tools ?? []).map((t) => t.name);
}

/** Run names the run_detail tool accepts, read from its JSON Schema enum. */
function knownRuns(request: FakeRequest): string[] {
  const tool = (request.tools ?? []).find((t) => t.name === 'run_detail');
  const schema = tool?.input_schema as { properties?: { run?: { enum?: unknown } } } | undefined;
  const values = schema?.properties?.run?.enum;
  return Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : [];
}

export function defaultResponder(request: FakeRequest): FakeStep {
  const results = lastToolResults(request);
  if (results.length > 0) {
    const quoted = results.map((r) => r.text.slice(0, QUOTE_MAX)).join('\n');
    return {
      kind: 'text',
      text: `(simulated model) Here is what the tools returned:\n\`\`\`\n${quoted}\n\`\`\``,
    };
  }
  const names = toolNames(request);
  const question = lastUserText(request);
  const run = knownRuns(request).find((name) => question.includes(name));
  if (run && names.includes('run_detail'))
    return { kind: 'tool_use', calls: [{ name: 'run_detail', input: { run } }] };
  if (names.includes('fleet_status'))
    return { kind: 'tool_use', calls: [{ name: 'fleet_status', input: {} }] };
  return { kind: 'text', text: '(simulated model) I have no tools to look at the fleet with.' };
}
