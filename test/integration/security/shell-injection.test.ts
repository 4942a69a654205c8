import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadConfig } from '../../../src/config.js';
import type { Demo } from '../../../src/demo/demo.js';
import { ConfigError, PolicyViolation } from '../../../src/errors.js';
import { buildTrainerArgv } from '../../../src/fleet/policy/launch.js';
import { shellJoin } from '../../../src/fleet/policy/shell.js';
import { createVastClient } from '../../../src/infra/vast/client.js';
import { createLogger, silentLogger } from '../../../src/logger.js';
import type { FakeAnthropic } from '../../../src/sim/llm/index.js';
import { DEFAULT_SCENARIO } from '../../../src/sim/scenario.js';
import { APPROVER_USER_ID, VIEWER_USER_ID } from '../../../src/sim/slack/index.js';
import { type DemoStack, startDemoStack } from '../../helpers/demo-stack.js';
import { uniquePrefix } from '../../helpers/redis.js';
import { captureLines, type RecordedCommand, recordHostCommands } from './harness.js';

/**
 * Shell metacharacters in every field a person (or the LLM, or a fleet file) can supply. Each is
 * refused with a clear error and never reaches a remote command line: the simulated hosts' SSH
 * servers record every command they receive, and the marker `tcpwn` must never be among them.
 */

const MARK = 'tcpwn';
const CHANNEL = 'CTRAINOPS';
const ANTHROPIC_KEY = 'sk-ant-shell-injection-test-key';
const prefix = uniquePrefix('shell');

let demo: Demo | undefined;
let fake: FakeAnthropic | undefined;
let stack: DemoStack | undefined;
let commands: RecordedCommand[] = [];
const { lines: logLines, destination } = captureLines();

function requireDemo(): Demo {
  if (!demo) throw new Error('the demo did not start');
  return demo;
}

function commandsWithMark(): RecordedCommand[] {
  return commands.filter((c) => c.command.includes(MARK) || (c.stdin ?? '').includes(MARK));
}

async function jobsWithMark(d: Demo): Promise<string[]> {
  const found: string[] = [];
  for (const q of ['healer', 'ops', 'monitor'] as const) {
    const jobs = await d.ctx.queues
      .queue(q)
      .getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
    for (const j of jobs) if (JSON.stringify(j.data).includes(MARK)) found.push(`${q}:${j.name}`);
  }
  return found;
}

beforeAll(async () => {
  stack = await startDemoStack({
    prefix,
    env: { ANTHROPIC_API_KEY: ANTHROPIC_KEY },
    scenario: { ...DEFAULT_SCENARIO, name: 'shell-injection', speed: 240, faults: [] },
    logger: createLogger({ level: 'info', destination }),
  });
  demo = stack.demo;
  fake = stack.fake;
  commands = recordHostCommands(demo.world);
  // The first sweep has reached every host: the hosts are live and being recorded.
  const deadline = Date.now() + 20_000;
  while (new Set(commands.map((c) => c.host)).size < 3) {
    if (Date.now() > deadline) throw new Error('the sweeps never reached the three hosts');
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe('/train text with shell metacharacters', () => {
  const hostile = [
    `restart mosaic_moe;${MARK}`,
    `restart mosaic_moe; ${MARK}`,
    `restart $(${MARK})`,
    `restart \`${MARK}\``,
    `restart mosaic_moe\n${MARK}`,
    `restart "mosaic_moe;${MARK}"`,
    `restart mosaic_moe&&${MARK}`,
    `restart mosaic_moe|${MARK}`,
    `restart mosaic_moe>${MARK}`,
    `restart mosaic_moe$IFS${MARK}`,
    `restart ../mosaic_moe/${MARK}`,
    `clean mosaic_moe;${MARK}`,
    `migrate $(${MARK})`,
    `pause \`${MARK}\``,
    `logs mosaic_moe 10;${MARK}`,
    `logs mosaic_moe $(${MARK})`,
    `logs $(${MARK}) 10`,
    `status mosaic_moe;${MARK}`,
    `journal 5 ${MARK};id`,
    `ack $(${MARK})`,
    `ack ;${MARK}`,
  ];

  it('refuses every one with a clear error to the requester, queues nothing and runs nothing', async () => {
    const d = requireDemo();
    const results = await Promise.all(
      hostile.map((text) =>
        d.slack.sendCommand({ user: APPROVER_USER_ID, channel: CHANNEL, text: `/train ${text}` }),
      ),
    );
    for (const [i, r] of results.entries()) expect(r.status, hostile[i]).toBe(200);
    // Every refusal arrives at its own response_url, ephemeral, saying what was wrong.
    await expect
      .poll(() => results.filter((r) => r.responseUrlPosts.length > 0).length, { timeout: 20_000 })
      .toBe(hostile.length);
    for (const [i, r] of results.entries()) {
      const text = JSON.stringify(r.responseUrlPosts.map((p) => p.body));
      expect(text, hostile[i]).toMatch(/unknown run|unknown subcommand|usage: \/train|must be|No incident/);
      expect(text, hostile[i]).not.toMatch(/queued|Fetching the last|Ranking replacement/);
    }
    expect(await jobsWithMark(d)).toEqual([]);
    // The healer and ops got nothing at all from these commands.
    const acting = await d.ctx.queues
      .queue('healer')
      .getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
    expect(acting.filter((j) => String(j.data.reason ?? '').includes('/train'))).toEqual([]);
    expect(commandsWithMark()).toEqual([]);
  }, 40_000);

  it('lets a question with metacharacters reach the conductor as text, never a command line', async () => {
    const d = requireDemo();
    const asked = fake?.requests.length ?? 0;
    const r = await d.slack.sendCommand({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: `/train ask why did $(${MARK}) and \`${MARK}\`; ${MARK} fail?`,
    });
    expect(r.status).toBe(200);
    // The simulated model looks at the fleet with a tool, then answers: two requests.
    await expect
      .poll(() => fake?.requests.length ?? 0, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(asked + 2);
    expect(JSON.stringify(fake?.requests.slice(asked))).toContain(MARK);
    expect(commandsWithMark()).toEqual([]);
  }, 30_000);
});

describe('LLM tool input with shell metacharacters', () => {
  it("is refused by the tools' schemas, reported to the model as an error, and never run", async () => {
    const d = requireDemo();
    const before = fake?.requests.length ?? 0;
    fake?.enqueue(
      {
        kind: 'tool_use',
        calls: [
          { name: 'log_tail', input: { run: `mosaic_moe;${MARK}`, n: 5 } },
          { name: 'log_tail', input: { run: 'mosaic_moe', n: `5;${MARK}` } },
          { name: 'run_detail', input: { run: `$(${MARK})` } },
          { name: 'offers', input: { run: `\`${MARK}\`` } },
        ],
      },
      { kind: 'text', text: 'done' },
    );
    await d.slack.postUserMessage({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: `<@${d.slack.botUserId}> tail the moe log please`,
    });
    await expect
      .poll(() => fake?.requests.length ?? 0, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(before + 2);
    const toolResults = (r: unknown) => JSON.stringify(r).match(/"type":"tool_result"/g)?.length ?? 0;
    await expect
      .poll(() => (fake?.requests ?? []).slice(before).find((r) => toolResults(r.messages.at(-1)) === 4), {
        timeout: 20_000,
      })
      .toBeDefined();
    const followUp = (fake?.requests ?? []).slice(before).find((r) => toolResults(r.messages.at(-1)) === 4);
    const results = JSON.stringify(followUp?.messages.at(-1));
    expect(results.match(/"is_error":true/g)?.length ?? 0).toBe(4);
    expect(commandsWithMark()).toEqual([]);
  }, 30_000);
});

describe('an instance label with shell metacharacters', () => {
  it('never reaches a command line while the run is swept, found stalled and restarted', async () => {
    const d = requireDemo();
    const id = d.world.instances.get('mosaic_dense');
    expect(id).toBeDefined();
    const vast = createVastClient({
      baseUrl: d.world.vast.url,
      apiKey: d.world.apiKey,
      clock: d.ctx.clock,
      logger: silentLogger,
      timeoutMs: 5_000,
      retries: 1,
    });
    await vast.setLabel(id as number, `tc-mosaic_dense-$(${MARK});${MARK}\`${MARK}\``);
    // Stalled: the sweeps see it and the healer stops and relaunches the trainer on that host.
    await d.world.inject('mosaic_dense', 'stall');
    await expect
      .poll(
        async () => (await d.ctx.store.journal.recent(50, { run: 'mosaic_dense' })).map((r) => r.entry.type),
        {
          timeout: 30_000,
        },
      )
      .toContain('AUTO_RESTART');
    expect(commandsWithMark()).toEqual([]);
  }, 40_000);
});

describe('fleet file values with shell metacharacters', () => {
  const base = parseYaml(readFileSync(path.resolve('fleet.example.yaml'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tc-fleet-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A copy of the example fleet with one value changed; returns the file. */
  function fleetWith(change: (doc: Record<string, Record<string, unknown>>) => void, name: string): string {
    const doc = structuredClone(base);
    change(doc);
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, stringifyYaml(doc));
    return file;
  }
  const moe = (doc: Record<string, Record<string, unknown>>) => doc['mosaic_moe'] as Record<string, unknown>;
  const conductor = (doc: Record<string, Record<string, unknown>>) =>
    doc['conductor'] as { paths: Record<string, string> };

  const cases: [string, (doc: Record<string, Record<string, unknown>>) => void, RegExp][] = [
    [
      'config',
      (d) => {
        moe(d)['config'] = `configs/x.yaml;${MARK}`;
      },
      /mosaic_moe\.config:/,
    ],
    [
      'config $()',
      (d) => {
        moe(d)['config'] = `configs/$(${MARK}).yaml`;
      },
      /mosaic_moe\.config:/,
    ],
    [
      'run_dir',
      (d) => {
        moe(d)['run_dir'] = `runs/x;${MARK}`;
      },
      /mosaic_moe\.run_dir:/,
    ],
    [
      'run_dir backticks',
      (d) => {
        moe(d)['run_dir'] = `runs/\`${MARK}\``;
      },
      /mosaic_moe\.run_dir:/,
    ],
    [
      'run_dir newline',
      (d) => {
        moe(d)['run_dir'] = `runs/x\n${MARK}`;
      },
      /mosaic_moe\.run_dir:/,
    ],
    [
      'run_dir traversal',
      (d) => {
        moe(d)['run_dir'] = '../../etc';
      },
      /mosaic_moe\.run_dir:/,
    ],
    [
      'run_dir absolute',
      (d) => {
        moe(d)['run_dir'] = `/tmp/${MARK}`;
      },
      /mosaic_moe\.run_dir:/,
    ],
    [
      'hf_path',
      (d) => {
        moe(d)['hf_path'] = `x/$(${MARK})`;
      },
      /mosaic_moe\.hf_path:/,
    ],
    [
      'backup_source',
      (d) => {
        moe(d)['backup_source'] = `hf://a/b;${MARK}`;
      },
      /mosaic_moe\.backup_source/,
    ],
    [
      'extra_args ;',
      (d) => {
        moe(d)['extra_args'] = [`--lr=1;${MARK}`];
      },
      /mosaic_moe\.extra_args\.0:/,
    ],
    [
      'extra_args $()',
      (d) => {
        moe(d)['extra_args'] = [`$(${MARK})`];
      },
      /mosaic_moe\.extra_args\.0:/,
    ],
    [
      'extra_args space',
      (d) => {
        moe(d)['extra_args'] = [`--x ${MARK}`];
      },
      /mosaic_moe\.extra_args\.0:/,
    ],
    [
      'extra_args quote',
      (d) => {
        moe(d)['extra_args'] = [`--x='${MARK}'`];
      },
      /mosaic_moe\.extra_args\.0:/,
    ],
    [
      'static host name',
      (d) => {
        moe(d)['host'] = { host: `gpu1;${MARK}`, port: 22, user: 'root' };
      },
      /mosaic_moe\.host\.host:/,
    ],
    [
      'static host as an option',
      (d) => {
        moe(d)['host'] = { host: `-oProxyCommand=${MARK}`, port: 22, user: 'root' };
      },
      /mosaic_moe\.host\.host:/,
    ],
    [
      'static host user',
      (d) => {
        moe(d)['host'] = { host: 'gpu1.lab', port: 22, user: `root;${MARK}` };
      },
      /mosaic_moe\.host\.user:/,
    ],
    [
      'workspace path',
      (d) => {
        conductor(d).paths['workspace'] = `/workspace/$(${MARK})`;
      },
      /conductor\.paths\.workspace:/,
    ],
    [
      'log path',
      (d) => {
        conductor(d).paths['log'] = `/workspace/x.log;${MARK}`;
      },
      /conductor\.paths\.log:/,
    ],
    [
      'run name',
      (d) => {
        d[`moe;${MARK}`] = moe(d);
        delete d['mosaic_moe'];
      },
      /run name must be/,
    ],
  ];

  it.each(cases)('refuses %s at load, naming the file and the YAML path', (name, change, where) => {
    const file = fleetWith(change, name.replace(/\W+/g, '-'));
    let error: unknown;
    try {
      loadConfig({ FLEET_FILE: file, KEY_PREFIX: 'tc-shell-never-used' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.startsWith(`${file}: `)).toBe(true);
    expect(message).toMatch(where);
    expect(message.split('\n').length).toBeLessThanOrEqual(2);
  });

  it('refuses a run built without the schema at launch (defence in depth), before any command exists', () => {
    const fleet = loadConfig({ FLEET_FILE: path.resolve('fleet.example.yaml') }).fleet;
    const spec = fleet.runs.find((r) => r.name === 'mosaic_moe');
    if (!spec) throw new Error('mosaic_moe missing');
    const gpu = { name: 'RTX 3090', count: 8 };
    for (const bad of [
      { ...spec, run_dir: `runs/x;${MARK}` },
      { ...spec, config: `configs/$(${MARK}).yaml` },
      { ...spec, extra_args: [`--x=\`${MARK}\``] },
      { ...spec, name: `moe;${MARK}` },
    ]) {
      expect(() => buildTrainerArgv(bad, fleet, gpu)).toThrow(PolicyViolation);
    }
  });

  it('quotes any value as one literal word for /bin/sh, whatever it contains', () => {
    const marker = path.join(dir, 'pwned');
    const values = [
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `; touch ${marker}`,
      `' ; touch ${marker}; '`,
      `"$(touch ${marker})"`,
      `a\nb`,
      `$HOME`,
      `*`,
      '',
      `--flag=x y`,
    ];
    const out = execFileSync('sh', ['-c', `printf '[%s]' ${shellJoin(values)}`], { encoding: 'utf8' });
    expect(out).toBe(values.map((v) => `[${v}]`).join(''));
    expect(existsSync(marker)).toBe(false);
  });
});

describe('what the stack logged meanwhile', () => {
  it('refusals are logged as JSON lines', () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
  });
});
