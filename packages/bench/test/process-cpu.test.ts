import { describe, expect, it } from 'vitest';
import { cpuMicros, formatCpuPerUnit, withCpuPerUnit } from '../src/process-cpu.js';
import { meanCpuPerMessage } from '../src/replication.js';

describe('cpuMicros', () => {
  it('reads a running process from /proc and leaves out one that is gone', () => {
    expect(cpuMicros({ name: 'me', pid: process.pid })).toBeGreaterThan(0);
    // Pids stop well below this on Linux (pid_max is at most 2^22).
    expect(cpuMicros({ name: 'gone', pid: 2 ** 30 })).toBeUndefined();
  });
});

describe('withCpuPerUnit', () => {
  it('charges the work to the bench process, per unit', async () => {
    const { result, cpuPerUnit } = await withCpuPerUnit([{ name: 'client' }, { name: 'gone', pid: 2 ** 30 }], 10, async () => {
      // Spins until this process has used 30 ms of CPU, however busy the machine (a wall-clock spin gets less
      // CPU when other processes share the cores).
      const start = process.cpuUsage();
      let spins = 0;
      for (;;) {
        spins++;
        const used = process.cpuUsage(start);
        if (used.user + used.system >= 30_000) break;
      }
      return spins;
    });
    expect(result).toBeGreaterThan(0);
    // 30 ms of CPU over 10 units: at least 3,000 µs each, read back from /proc at its 10 ms resolution.
    expect(cpuPerUnit.get('client')).toBeGreaterThan(1_900);
    expect(cpuPerUnit.has('gone')).toBe(false);
  });
});

describe('meanCpuPerMessage', () => {
  it('averages each process over the runs that measured it, in first-seen order', () => {
    const mean = meanCpuPerMessage([
      { msgsPerSec: 1, cpuPerMessage: new Map([['client', 4], ['master', 8]]) },
      { msgsPerSec: 1, cpuPerMessage: new Map([['client', 6]]) },
    ]);
    expect([...mean]).toEqual([['client', 5], ['master', 8]]);
    expect(formatCpuPerUnit(mean)).toBe('client 5.0, master 8.0');
  });
});
