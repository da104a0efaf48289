#!/usr/bin/env node
import { RoomqError, toRoomqError } from '@roomq/protocol';
import { auditCommand, auditUsage } from './commands/audit.js';
import { brokerCommand, brokerUsage } from './commands/broker.js';
import { clusterCommand, clusterUsage } from './commands/cluster.js';
import { consumeCommand, consumeUsage } from './commands/consume.js';
import { drillCommand, drillUsage } from './commands/drill.js';
import { groupCommand, groupUsage } from './commands/group.js';
import { localCommand, localUsage } from './commands/local.js';
import { produceCommand, produceUsage } from './commands/produce.js';
import { quarantineCommand, quarantineUsage } from './commands/quarantine.js';
import { roomCommand, roomUsage } from './commands/room.js';
import { routerCommand, routerUsage } from './commands/router.js';
import { topicCommand, topicUsage } from './commands/topic.js';
import { migrateCommand, migrateUsage } from './commands/migrate.js';
import { UsageError } from './usage-error.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; usage: string; summary: string }> = {
  local: { run: localCommand, usage: localUsage, summary: 'start a local cluster on this machine' },
  produce: { run: produceCommand, usage: produceUsage, summary: 'send test messages and report rate and latency' },
  consume: { run: consumeCommand, usage: consumeUsage, summary: 'consume a topic as a group and report what arrived' },
  topic: { run: topicCommand, usage: topicUsage, summary: 'create, list and show topics' },
  migrate: { run: migrateCommand, usage: migrateUsage, summary: 'migrate many topics between modes from a plan file, a few at a time' },
  cluster: { run: clusterCommand, usage: clusterUsage, summary: 'show routers and brokers' },
  room: { run: roomCommand, usage: roomUsage, summary: 'cut a room (switch off its writes), restore it, list rooms' },
  group: { run: groupCommand, usage: groupUsage, summary: 'list broker group leaders and epochs, fail a group back' },
  audit: { run: auditCommand, usage: auditUsage, summary: 'show who changed rooms and groups, when and why' },
  quarantine: { run: quarantineCommand, usage: quarantineUsage, summary: 'list and replay log bytes a broker cut off when it rejoined after a promotion' },
  drill: { run: drillCommand, usage: drillUsage, summary: 'cut a room of a cluster of its own under load, restore it, report RTO, RPO and offsets' },
  broker: { run: brokerCommand, usage: brokerUsage, summary: 'run a broker process' },
  router: { run: routerCommand, usage: routerUsage, summary: 'run a router process' },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'roomq: a message queue for two live datacenters',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Usage:',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage}`),
    '',
    'Every command takes --json for machine-readable output.',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`roomq: unknown command ${JSON.stringify(name)}\n\n${help()}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    await command.run(rest);
  } catch (err) {
    const json = rest.includes('--json');
    if (err instanceof UsageError || (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message: err.message } })}\n`);
      else process.stderr.write(`roomq ${name}: ${err.message}\nusage: ${command.usage}\n`);
      process.exitCode = 2;
      return;
    }
    const error = err instanceof RoomqError ? err : toRoomqError(err);
    if (json) process.stdout.write(`${JSON.stringify({ error: error.toJSON() })}\n`);
    else process.stderr.write(`roomq ${name}: ${error.message}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv.slice(2));
