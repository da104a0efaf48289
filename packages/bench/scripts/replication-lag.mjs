import { tmpdir } from 'node:os';
import { steadyLag } from '../dist/replication.js';

console.log('1ms delay, 20k/s', await steadyLag(tmpdir(), 20000, 5, 1));
console.log('1ms delay, 20k/s', await steadyLag(tmpdir(), 20000, 5, 1));
