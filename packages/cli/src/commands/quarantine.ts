import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { listQuarantine, markReplayed, readQuarantined, type QuarantineEntry } from '@roomq/broker';
import { Producer } from '@roomq/client';
import { RecordType, forEachRecord, type MessageRecord } from '@roomq/protocol';
import { makeOutput, table } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { UsageError } from '../usage-error.js';

export const quarantineUsage = 'roomq quarantine list --data-dir DIR | roomq quarantine replay --data-dir DIR [--id ID] [--room R] [--router ADDR] [--yes]   [--json]';

/**
 * `roomq quarantine list|replay`: the log bytes a broker cut off when it rejoined its group under a newer
 * epoch. Runs on the broker's machine, against its data directory (the broker need not be running).
 * `replay` sends every message of the pending entries again through the routers (same topic, keys, tag,
 * properties and body; a new message ID), then marks the entry replayed. Replaying may duplicate messages the
 * group also kept (at-least-once); it never loses one.
 */
export async function quarantineCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...routerOption, 'data-dir': { type: 'string' }, id: { type: 'string' }, room: { type: 'string' }, yes: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const out = makeOutput(values.json ?? false);
  const [action] = positionals;
  if (!values['data-dir']) throw new UsageError('--data-dir is needed: the data directory of the broker whose quarantine to read');
  const dataDir = resolve(values['data-dir']);
  const entries = await listQuarantine(dataDir);
  switch (action) {
    case 'list': {
      out.result({ dataDir, entries }, () => humanList(dataDir, entries));
      return;
    }
    case 'replay': {
      const pending = entries.filter((e) => !e.replayedAtMs && (values.id === undefined || e.id === values.id));
      if (values.id !== undefined && pending.length === 0) throw new UsageError(`no pending quarantine entry ${values.id} in ${dataDir}; see roomq quarantine list`);
      if (!values.yes) throw new UsageError(`replay sends ${pending.reduce((n, e) => n + e.messages, 0)} message(s) again; pass --yes to do it`);
      const producer = new Producer({ routers: routerList(values.router), ...(values.room ? { room: values.room } : {}) });
      await producer.start();
      const replayed: Array<{ id: string; messages: number }> = [];
      try {
        for (const entry of pending) {
          const messages = await messagesOf(dataDir, entry);
          await Promise.all(
            messages.map((m) => producer.send({ topic: m.topic, body: m.body, keys: [...m.keys], tag: m.tag, properties: { ...m.properties, 'roomq-replayed-from': m.messageId } })),
          );
          await markReplayed(dataDir, entry);
          replayed.push({ id: entry.id, messages: messages.length });
          out.progress(`replayed ${entry.id}: ${messages.length} message(s)`);
        }
      } finally {
        await producer.close();
      }
      out.result({ dataDir, replayed }, () =>
        replayed.length === 0 ? 'nothing pending to replay' : `replayed ${replayed.reduce((n, r) => n + r.messages, 0)} message(s) from ${replayed.length} entr${replayed.length === 1 ? 'y' : 'ies'}`,
      );
      return;
    }
    default:
      throw new UsageError(`unknown action ${JSON.stringify(action ?? '')}: use list or replay`);
  }
}

async function messagesOf(dataDir: string, entry: QuarantineEntry): Promise<MessageRecord[]> {
  const messages: MessageRecord[] = [];
  forEachRecord(await readQuarantined(dataDir, entry.id), (record) => {
    if (record.type === RecordType.MESSAGE) messages.push(record);
  });
  return messages;
}

function humanList(dataDir: string, entries: QuarantineEntry[]): string {
  if (entries.length === 0) return `no quarantined log bytes in ${dataDir}`;
  const rows = entries.map((e) => [e.id, `${e.from}-${e.to}`, e.messages, e.offsetCommits, e.bytes, `${e.epoch} (${e.leader})`, new Date(e.cutAtMs).toISOString(), e.replayedAtMs ? `replayed ${new Date(e.replayedAtMs).toISOString()}` : 'pending']);
  return table(['id', 'log range', 'messages', 'offset commits', 'bytes', 'cut by epoch', 'cut at', 'state'], rows);
}
