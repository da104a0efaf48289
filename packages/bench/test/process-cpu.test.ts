import { describe, expect, it } from 'vitest';
import { busyShare, cpuMicros, formatCpuPerUnit, machineTicks, sumCpu, withCpuPerUnit } from '../src/process-cpu.js';
import { meanCpuPerMessage, meanMachineBusy } from '../src/replication.js';

describe('cpuMicros', () => {
  it('reads a running process from /proc and leaves out one that is gone', () => {
    const me = cpuMicros({ name: 'me', pid: process.pid });
    expect(me?.total).toBeGreaterThan(0);
    // Loading vitest read files and mapped memory: some of it was the kernel's, and never more than all of it.
    expect(me?.kernel).toBeGreaterThan(0);
    expect(me!.kernel).toBeLessThanOrEqual(me!.total);
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
    expect(cpuPerUnit.get('client')?.total).toBeGreaterThan(1_900);
    // The spin asks the kernel for its usage every turn (getrusage), so part of it is kernel time.
    expect(cpuPerUnit.get('client')!.kernel).toBeGreaterThan(0);
    expect(cpuPerUnit.get('client')!.kernel).toBeLessThanOrEqual(cpuPerUnit.get('client')!.total);
    expect(cpuPerUnit.has('gone')).toBe(false);
  });

  it('says how busy the whole machine was meanwhile', async () => {
    const { machineBusy } = await withCpuPerUnit([{ name: 'client' }], 1, async () => {
      const start = process.cpuUsage();
      while (process.cpuUsage(start).user < 30_000);
    });
    // This process alone kept one core busy for the whole spin: a share of the machine above 0, never above 1.
    expect(machineBusy).toBeGreaterThan(0);
    expect(machineBusy).toBeLessThanOrEqual(1);
  });
});

describe('machineTicks', () => {
  it('counts idle and I/O wait as not busy, everything else as busy', () => {
    const stat = 'cpu  100 5 40 800 30 0 7 18 0 0\ncpu0 50 2 20 400 15 0 3 9 0 0\nintr 1\n';
    // user + nice + system + irq + softirq + steal = 170 busy; with idle 800 and iowait 30: 1000 in all.
    expect(machineTicks(stat)).toEqual({ busy: 170, total: 1000 });
    expect(machineTicks('intr 1\n')).toBeUndefined();
    // With no text it reads this machine's /proc/stat (the bench runs on Linux).
    const here = machineTicks();
    expect(here!.total).toBeGreaterThan(here!.busy);
    expect(machineTicks('cpu  1 2 x 4 5\n')).toBeUndefined();
  });

  it('turns two readings into a busy share, and none where the clock did not move', () => {
    expect(busyShare({ busy: 100, total: 1000 }, { busy: 250, total: 1200 })).toBeCloseTo(0.75);
    expect(busyShare({ busy: 100, total: 1000 }, { busy: 100, total: 1000 })).toBeUndefined();
    expect(busyShare(undefined, { busy: 1, total: 2 })).toBeUndefined();
  });
});

describe('meanCpuPerMessage', () => {
  it('averages each process over the runs that measured it, in first-seen order, kernel time alike', () => {
    const mean = meanCpuPerMessage([
      { msgsPerSec: 1, cpuPerMessage: new Map([['client', { total: 4, kernel: 1 }], ['master', { total: 8, kernel: 3 }]]) },
      { msgsPerSec: 1, cpuPerMessage: new Map([['client', { total: 6, kernel: 2 }]]) },
    ]);
    expect([...mean]).toEqual([
      ['client', { total: 5, kernel: 1.5 }],
      ['master', { total: 8, kernel: 3 }],
    ]);
    expect(formatCpuPerUnit(mean)).toBe('client 5.0 (kernel 1.5), master 8.0 (kernel 3.0)');
    expect(sumCpu(mean)).toEqual({ total: 13, kernel: 4.5 });
  });

  it('averages the machine busy share over the runs that have one', () => {
    const run = (machineBusy?: number) => ({ msgsPerSec: 1, cpuPerMessage: new Map(), machineBusy });
    expect(meanMachineBusy([run(0.8), run(), run(0.6)])).toBeCloseTo(0.7);
    expect(meanMachineBusy([run(), run()])).toBeUndefined();
  });
});
