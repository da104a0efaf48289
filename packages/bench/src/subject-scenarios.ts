import { setTimeout as sleep } from 'node:timers/promises';
import { percentiles } from '@roomq/cli';
import { oneInFlight } from './one-in-flight.js';
import type { Session } from './peers/peer.js';

/**
 * The side-by-side scenarios, written once against `Session` so roomq and every peer run the same code in the
 * same process: the client's own cost is in every figure alike. Messages are 1 KiB.
 */

export const MESSAGE_SIZE_BYTES = 1024;
/** Sent and acknowledged before a timed scenario, so connection and route setup are not timed. */
const WARMUP_MESSAGES = 256;
/** Layout of an end-to-end message: float64 LE send time (performance.now(), ms) at 0, a "measured" flag byte at 8. */
const SENT_AT_OFFSET = 0;
const MEASURED_FLAG_OFFSET = 8;
/** The fixed-rate publisher never keeps more than this many unacknowledged, like the throughput scenario. */
const E2E_MAX_IN_FLIGHT = 1000;

const BODY = Buffer.alloc(MESSAGE_SIZE_BYTES, 0x70);

/**
 * Publishes `count` messages keeping `inFlight` unacknowledged; the queue then holds `count` plus the warm-up
 * messages, which `backlogConsume` reads back.
 */
export async function asyncPublish(session: Session, count: number, inFlight: number): Promise<{ msgsPerSec: number; failed: number; stored: number }> {
  await Promise.all(Array.from({ length: WARMUP_MESSAGES }, () => session.publish(BODY)));
  let failed = 0;
  let firstError: unknown;
  let next = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let done = 0;
    const launch = (): void => {
      next++;
      session
        .publish(BODY)
        .catch((err: unknown) => {
          failed++;
          firstError ??= err;
        })
        .finally(() => {
          done++;
          if (next < count) launch();
          else if (done === count) resolve();
        });
    };
    for (let i = 0; i < Math.min(inFlight, count); i++) launch();
  });
  const elapsed = (performance.now() - started) / 1000;
  if (failed === count) throw new Error(`every publish failed, e.g. ${describe(firstError)}`);
  return { msgsPerSec: count / elapsed, failed, stored: WARMUP_MESSAGES + count - failed };
}

/** Consumes a backlog of `count` messages as a new group; timed from the first message to the last. */
export async function backlogConsume(session: Session, count: number, timeoutMs: number): Promise<{ msgsPerSec: number }> {
  let received = 0;
  let first = 0;
  let last = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const subscription = await session.consume(() => {
    const now = performance.now();
    if (received === 0) first = now;
    last = now;
    if (++received === count) finish();
  });
  const timer = new AbortController();
  try {
    const timedOut = await Promise.race([done.then(() => false), sleep(timeoutMs, true, { signal: timer.signal })]);
    if (timedOut) throw new Error(`${received} of ${count} backlog messages arrived within ${timeoutMs} ms`);
  } finally {
    // Cancelled, or its timer would hold the process open for the whole timeout.
    timer.abort();
    await subscription.stop();
  }
  return { msgsPerSec: count / ((last - first) / 1000) };
}

/** Latency of publishes with exactly one in flight, in ms, after `warmup` untimed ones. */
export async function syncPublishLatency(session: Session, count: number, warmup: number): Promise<Record<string, number>> {
  return oneInFlight(() => session.publish(BODY), warmup, count);
}

export interface EndToEndResult {
  /** p50, p99, max in ms: consumer's arrival time minus the publish call's time, same clock. */
  latency: Record<string, number>;
  measured: number;
  /** The rate actually held during the measured window; below the target means the publisher fell behind. */
  achievedRatePerSec: number;
}

/**
 * End-to-end latency at a fixed rate: a consumer is subscribed first, then a publisher sends on a 1 ms tick
 * whatever the schedule says is due. The first `warmupSeconds` are not measured.
 */
export async function endToEndLatency(session: Session, ratePerSec: number, seconds: number, warmupSeconds: number, drainTimeoutMs: number): Promise<EndToEndResult> {
  const latencies: number[] = [];
  const subscription = await session.consume((body) => {
    const now = performance.now();
    if (body[MEASURED_FLAG_OFFSET] !== 1) return;
    latencies.push(now - Buffer.from(body.buffer, body.byteOffset, body.byteLength).readDoubleLE(SENT_AT_OFFSET));
  });
  try {
    const warmupCount = Math.round(ratePerSec * warmupSeconds);
    const total = warmupCount + Math.round(ratePerSec * seconds);
    let sent = 0;
    let inFlight = 0;
    let failed = 0;
    let measuredStart = 0;
    const started = performance.now();
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * ratePerSec));
      while (sent < due && inFlight < E2E_MAX_IN_FLIGHT) {
        if (sent === warmupCount) measuredStart = performance.now();
        // A fresh buffer each time: some clients write it to the socket a tick later.
        const body = Buffer.alloc(MESSAGE_SIZE_BYTES, 0x65);
        body[MEASURED_FLAG_OFFSET] = sent >= warmupCount ? 1 : 0;
        body.writeDoubleLE(performance.now(), SENT_AT_OFFSET);
        inFlight++;
        sent++;
        session.publish(body).then(
          () => void inFlight--,
          () => {
            inFlight--;
            failed++;
          },
        );
      }
      await sleep(1);
    }
    const measuredSeconds = (performance.now() - measuredStart) / 1000;
    const measured = total - warmupCount;
    const deadline = performance.now() + drainTimeoutMs;
    while (latencies.length + failed < measured && performance.now() < deadline) await sleep(5);
    if (latencies.length < measured * 0.99) throw new Error(`${latencies.length} of ${measured} measured messages arrived within ${drainTimeoutMs} ms (${failed} publishes failed)`);
    return { latency: percentiles(latencies, [50, 99]), measured: latencies.length, achievedRatePerSec: measured / measuredSeconds };
  } finally {
    await subscription.stop();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
