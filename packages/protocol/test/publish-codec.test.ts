import { describe, expect, it } from 'vitest';
import { decodePublishRequest, decodePublishResults, encodePublishRequest, encodePublishResults } from '../src/publish-codec.js';
import { summarizeMessageSection } from '../src/record-codec.js';

describe('publish codec', () => {
  it('round-trips requests without copying sections', () => {
    const body = Buffer.alloc(1024, 1);
    const buf = encodePublishRequest([
      { queueId: 0, fields: { topic: 't', messageId: 'a', tag: '', keys: ['k-0'], properties: {}, body, bornTimestampMs: 1 } },
      { queueId: 5, fields: { topic: 't', messageId: 'b', tag: 'x', keys: [], properties: { p: 'q' }, body, bornTimestampMs: 2 } },
    ]);
    const entries = decodePublishRequest(buf);
    expect(entries.map((e) => e.queueId)).toEqual([0, 5]);
    expect(entries[1]!.section.buffer).toBe(buf.buffer);
    expect(summarizeMessageSection(entries[1]!.section, 0, entries[1]!.section.length)).toMatchObject({ messageId: 'b', tag: 'x' });
  });

  it('rejects frames whose framing does not add up', () => {
    const buf = encodePublishRequest([{ queueId: 0, fields: { topic: 't', messageId: 'a', tag: '', keys: [], properties: {}, body: Buffer.alloc(3), bornTimestampMs: 1 } }]);
    expect(() => decodePublishRequest(buf.subarray(0, buf.length - 1))).toThrow(/overruns/);
    expect(() => decodePublishRequest(Buffer.concat([buf, Buffer.alloc(1)]))).toThrow(/trailing/);
    expect(() => decodePublishRequest(Buffer.alloc(2))).toThrow(/count/);
  });

  it('round-trips results', () => {
    const results = [{ queueId: 1, queueOffset: 2 ** 33, physicalOffset: 12345 }];
    expect(decodePublishResults(encodePublishResults(results))).toEqual(results);
  });
});
