import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchCluster } from '../dist/local-servers.js';
import { createTopic, publishThroughput, backlogConsume } from '../dist/client-path.js';

if (process.env.PROF_CHILDREN) process.execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(tmpdir(), 'roomq-prof')}`);
const c = await BenchCluster.start(tmpdir(), 'async');
await createTopic(c.routerEndpoint, 'p', 4);
await publishThroughput(c.routerEndpoint, 'p', 200000, 1000);
console.log('broker pid', c.brokers[0].ready.pid);
const { Session } = await import('node:inspector/promises');
const s = new Session(); s.connect(); await s.post('Profiler.enable'); await s.post('Profiler.start');
const r = await backlogConsume(c.routerEndpoint, 'p', 200000);
const { profile } = await s.post('Profiler.stop');
(await import('node:fs')).writeFileSync(join(tmpdir(), 'consume-client.cpuprofile'), JSON.stringify(profile));
console.log(r);
await c.stop();
