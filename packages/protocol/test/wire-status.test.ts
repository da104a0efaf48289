import { describe, expect, it } from 'vitest';
import { RoomqError } from '../src/errors.js';
import { V2_CODE, fromWireStatus, toWireStatus } from '../src/wire-status.js';

describe('wire status', () => {
  it('round-trips every roomq code with its details', () => {
    const err = new RoomqError('BODY_TOO_LARGE', 'too big', { details: { topic: 't', field: 'body' } });
    const status = toWireStatus(err);
    expect(status.code).toBe(V2_CODE.MESSAGE_BODY_TOO_LARGE);
    const back = fromWireStatus(status);
    expect(back).toMatchObject({ code: 'BODY_TOO_LARGE', message: 'too big', details: { topic: 't', field: 'body' }, retriable: false });
  });

  it('maps plain v2 statuses from other servers', () => {
    expect(fromWireStatus({ code: V2_CODE.TOPIC_NOT_FOUND, message: 'no such topic' })?.code).toBe('TOPIC_NOT_FOUND');
    expect(fromWireStatus({ code: 'OK', message: '' })).toBeUndefined();
    expect(fromWireStatus({ code: V2_CODE.TOO_MANY_REQUESTS, message: 'slow down' })?.retriable).toBe(true);
  });
});
