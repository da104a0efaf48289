import { parseArgs } from 'node:util';
import { join, relative, resolve } from 'node:path';
import { launchServer, stopServer, type ServerHandle } from '../launcher.js';
import { localBrokers, localRouters } from '../local-topology.js';
import { makeOutput, table } from '../output.js';
import { intOption } from '../usage-error.js';

export const localUsage = 'roomq local [--data-dir DIR] [--router-port N] [--broker-port N] [--flush sync|async] [--replication async|sync:N] [--json]';

/** Default data directory of `roomq local`, relative to where it runs. */
const DEFAULT_DATA_DIR = '.roomq/local';

interface ServerView {
  role: 'router' | 'broker';
  name: string;
  room: string;
  group?: string;
  brokerRole?: string;
  endpoint: string;
  pid: number;
  log: string;
}

interface ClusterView {
  event: 'ready';
  dataDir: string;
  /** Router endpoints by room: what clients of each room are given. */
  routers: Record<string, string[]>;
  servers: ServerView[];
}

/**
 * `roomq local`: a two-room cluster on loopback — a router per room sharing one embedded control store, and a
 * broker group with its master in each room — each server its own process, until Ctrl-C or SIGTERM.
 */
export async function localCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      'router-port': { type: 'string' },
      'broker-port': { type: 'string' },
      flush: { type: 'string' },
      replication: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const out = makeOutput(values.json ?? false);
  const dataDir = resolve(values['data-dir'] ?? DEFAULT_DATA_DIR);
  const ports = { routerPort: intOption(values['router-port'], '--router-port', 9876), brokerPort: intOption(values['broker-port'], '--broker-port', 10911) };
  const flushMode = values.flush === 'async' ? 'async' : 'sync';
  // sync:1 by default: an acknowledged message is on the master and on its replica in the other room.
  const replicationMode = values.replication ?? 'sync:1';
  const logDir = join(dataDir, 'logs');
  const servers: ServerHandle[] = [];
  let stopping = false;

  const stopAll = async (): Promise<void> => {
    stopping = true;
    // Brokers first (started last) so their last heartbeats still reach a router.
    for (const handle of [...servers].reverse()) await stopServer(handle);
  };
  const onSignal = (signal: string): void => {
    if (stopping) return;
    if (!out.json) process.stderr.write(`\n${signal}: stopping the cluster…\n`);
    void stopAll().then(() => {
      out.result({ event: 'stopped' }, () => 'cluster stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    const routers: ServerHandle[] = [];
    for (const plan of localRouters(dataDir, ports)) {
      const handle = await launchServer('router', plan.config, logDir, plan.name);
      servers.push(handle);
      routers.push(handle);
    }
    // Every broker registers with the routers of both rooms.
    const routerEndpoints = routers.map((r) => r.ready.endpoint);
    // Chain order: a member's upstream (the member before it) is listening before it starts.
    const endpoints = new Map<string, string>();
    for (const plan of localBrokers(dataDir, ports, flushMode, replicationMode)) {
      const upstream = plan.memberId === 0 ? undefined : endpoints.get(`${plan.group}/${plan.memberId - 1}`);
      const handle = await launchServer('broker', plan.config(routerEndpoints, upstream), logDir, plan.name.replace(/[/@]/g, '-'));
      endpoints.set(`${plan.group}/${plan.memberId}`, handle.ready.endpoint);
      servers.push(handle);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  for (const handle of servers) {
    void handle.exited.then(({ code, signal }) => {
      if (stopping) return;
      const text = `${handle.role} ${handle.ready.name} (pid ${handle.ready.pid}) exited unexpectedly (${signal ?? `code ${code}`}); see ${handle.logPath}. The rest keeps running; restart roomq local to bring it back.`;
      out.result({ event: 'server-exited', name: handle.ready.name, pid: handle.ready.pid, code, signal }, () => text);
    });
  }

  const view: ClusterView = { event: 'ready', dataDir, routers: {}, servers: [] };
  for (const s of servers) {
    view.servers.push({
      role: s.role,
      name: s.ready.name,
      room: s.ready.room,
      ...(s.role === 'broker' ? { group: s.ready.group ?? '', brokerRole: s.ready.brokerRole ?? 'master' } : {}),
      endpoint: s.ready.endpoint,
      pid: s.ready.pid,
      log: s.logPath,
    });
    if (s.role === 'router') (view.routers[s.ready.room] ??= []).push(s.ready.endpoint);
  }
  out.result(view, () => humanReady(view, flushMode));
}

function humanReady(view: ClusterView, flushMode: string): string {
  const rows = view.servers.map((s) => [
    s.role === 'router' ? 'router' : `broker (${s.brokerRole}, ${flushMode} flush)`,
    s.name,
    s.room,
    s.endpoint,
    String(s.pid),
    relative(process.cwd(), s.log),
  ]);
  const dc1 = view.routers['dc1']?.[0] ?? '';
  const dc2 = view.routers['dc2']?.[0] ?? '';
  return [
    `roomq local cluster is ready: rooms ${Object.keys(view.routers).join(' and ')}; data in ${relative(process.cwd(), view.dataDir) || '.'}`,
    '',
    table(['server', 'name', 'room', 'endpoint', 'pid', 'log'], rows),
    '',
    'Try, in another terminal:',
    `  npx roomq topic create demo --mode active-active --router ${dc1}`,
    `  npx roomq produce --room dc1 --router ${dc1},${dc2} --topic demo --count 100000 --size 1024 --key-prefix k`,
    `  npx roomq produce --room dc2 --router ${dc2},${dc1} --topic demo --count 100000 --size 1024 --key-prefix j`,
    `  npx roomq consume --room dc1 --router ${dc1},${dc2} --group demo-group --topic demo --dump keys.txt`,
    '',
    'Ctrl-C stops the cluster.',
  ].join('\n');
}
