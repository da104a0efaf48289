import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chainPublish } from '../dist/replication.js';

process.execArgv.push('--cpu-prof', `--cpu-prof-dir=${join(tmpdir(), 'roomq-prof')}`);
console.log(process.argv[2], await chainPublish(tmpdir(), process.argv[2] ?? 'async', 150000));
