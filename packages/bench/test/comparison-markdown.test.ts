import { describe, expect, it } from 'vitest';
import { comparisonRows, evaluateTargets, type SubjectResult } from '../src/comparison.js';
import { comparisonMarkdown } from '../src/comparison-markdown.js';

function subject(id: string, fsynced: boolean, values: SubjectResult['values'], notes: string[] = []): SubjectResult {
  return { id, label: `${id} label`, shortLabel: id, durability: { fsyncedBeforeAck: fsynced, ackMeans: `${id} acks` }, values, notes, loadAverage: 1.5 };
}

describe('comparisonMarkdown', () => {
  const roomq = subject('roomq', true, { publish: 100_000, syncP50: 0.5 });
  const peers = [subject('redis:always', true, { publish: 40_000, syncP50: 0.25 }), subject('nats:jetstream', false, {}, ['end-to-end failed: timeout'])];
  const markdown = comparisonMarkdown({ setup: 'setup text', roomq, peers, rows: comparisonRows(roomq, peers), targets: evaluateTargets(roomq, peers), skipped: [{ peer: 'rabbitmq', reason: 'nothing answers on 127.0.0.1:5672' }], chart: 'c.svg' });

  it('puts each peer figure beside roomq with its ratio, and a dash where none was measured', () => {
    expect(markdown).toContain('| scenario | metric | unit | roomq label | redis:always label | nats:jetstream label |');
    expect(markdown).toContain('| async publish, 1,000 in flight | throughput | msg/s | 100,000 | 40,000 (2.50×) | — |');
    expect(markdown).toContain('| sync publish, 1 in flight | p50 | ms | 0.500 | 0.250 (0.50×) | — |');
  });

  it('says plainly which acknowledgements are not fsynced', () => {
    expect(markdown).toContain('| nats:jetstream label | **no** | nats:jetstream acks |');
    expect(markdown).toContain('| roomq label | yes | roomq acks |');
  });

  it('prints each target met or missed with the peer it was judged against', () => {
    expect(markdown).toContain('| durable publish ≥ 3× the best durable peer | 100,000 | redis:always label: 40,000 | 2.50× | 3.00× | **missed** |');
    expect(markdown).toContain('| backlog consume ≥ 1.3× Redis Streams | — | no Redis Streams figure: not run, or the scenario failed | — | 1.30× | not evaluated |');
  });

  it('shows roomq with async flush beside roomq, without ratios of its own', () => {
    const roomqAsync = subject('roomq:async', false, { publish: 120_000, e2eP50: 0.2 });
    const withAsync = comparisonMarkdown({ setup: 's', roomq, roomqAsync, peers, rows: comparisonRows(roomq, peers, roomqAsync), targets: evaluateTargets(roomq, peers, roomqAsync), skipped: [] });
    expect(withAsync).toContain('| scenario | metric | unit | roomq label | roomq:async label | redis:always label | nats:jetstream label |');
    expect(withAsync).toContain('| async publish, 1,000 in flight | throughput | msg/s | 100,000 | 120,000 | 40,000 (2.50×) | — |');
    expect(withAsync).toContain('| roomq:async label | **no** | roomq:async acks |');
  });

  it('lists skipped peers, failed scenarios and the chart', () => {
    expect(markdown).toContain('- skipped rabbitmq: nothing answers on 127.0.0.1:5672');
    expect(markdown).toContain('- nats:jetstream label: end-to-end failed: timeout');
    expect(markdown).toContain('![side by side](c.svg)');
  });
});
