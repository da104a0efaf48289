import { mkdtemp } from 'node:fs/promises'; import { join } from 'node:path'; import { tmpdir } from 'node:os';
import { MessageStore } from '@roomq/broker';
import { encodeMessageSection, summarizeMessageSection } from '@roomq/protocol';
const store = await MessageStore.open({ dataDir: await mkdtemp(join(tmpdir(), 'lat-')), flushMode: 'sync' });
const s = encodeMessageSection({ topic: 't', messageId: 'x', tag: '', keys: ['k'], properties: {}, body: Buffer.alloc(1024), bornTimestampMs: 1 });
const req = [{ queueId: 0, section: s, summary: summarizeMessageSection(s, 0, s.length) }];
const lat = [];
for (let i = 0; i < 3000; i++) { const t = performance.now(); await store.appendMessages(req); lat.push(performance.now() - t); }
lat.sort((a, b) => a - b); console.log('store append p50', lat[1500].toFixed(3), 'p99', lat[2970].toFixed(3));
import fs from 'node:fs/promises';
const fh = await fs.open(join(tmpdir(), 'lat.bin'), 'w'); const buf = Buffer.alloc(1100);
const l2 = []; for (let i = 0; i < 3000; i++) { const t = performance.now(); await fh.write(buf); await fh.datasync(); l2.push(performance.now() - t); }
l2.sort((a, b) => a - b); console.log('raw write+datasync p50', l2[1500].toFixed(3), 'p99', l2[2970].toFixed(3));
const fd = (await import('node:fs')).openSync(join(tmpdir(), 'lat2.bin'), 'w');
const l3 = []; for (let i = 0; i < 3000; i++) { const t = performance.now(); (await import('node:fs')).writeSync(fd, buf); (await import('node:fs')).fdatasyncSync(fd); l3.push(performance.now() - t); }
l3.sort((a, b) => a - b); console.log('sync syscalls write+fdatasync p50', l3[1500].toFixed(3));
await store.close();
