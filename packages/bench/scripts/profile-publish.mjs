import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchCluster } from '../dist/local-servers.js';
import { createTopic, publishThroughput, sendLatency } from '../dist/client-path.js';

if (process.env.PROF_CHILDREN) process.execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(tmpdir(), 'roomq-prof')}`);
const c = await BenchCluster.start(tmpdir(), 'sync');
await createTopic(c.routerEndpoint, 'p', 4);
const { Session } = await import('node:inspector/promises');
const s = new Session(); s.connect(); await s.post('Profiler.enable'); await s.post('Profiler.start');
const r = await publishThroughput(c.routerEndpoint, 'p', 200000, 1000);
const { profile } = await s.post('Profiler.stop');
(await import('node:fs')).writeFileSync(join(tmpdir(), 'publish-client.cpuprofile'), JSON.stringify(profile));
console.log('publish', r);
await createTopic(c.routerEndpoint, 'l', 1);
console.log('latency', await sendLatency(c.routerEndpoint, 'l', 3000));
console.log('broker pid', c.brokers[0].ready.pid);
await c.stop();
