import type { Logger } from 'pino';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { okStatus, type WireStatus } from '@roomq/protocol';
import type { V2Resource } from './v2-messages.js';

/**
 * The broker's side of the v2 Telemetry stream, which RocketMQ 5 clients open to every broker of their routes.
 * Roomq uses it only to answer the client's `settings`: the official Node.js client's startup() waits for
 * that answer, and what it carries must be safe for the client to adopt (see `settingsReply`). Whatever else
 * the client sends (thread stack traces, verify results) answers commands roomq never issues and is ignored.
 */

/**
 * When the settings answer is written again after the first one, in ms. The official Node.js client starts
 * listening only after all of its startup QueryRoutes, so with several topics the first answer can arrive
 * unheard; a later copy ends its wait. The answer is idempotent.
 */
export const SETTINGS_RESEND_DELAYS_MS: readonly number[] = [1_000, 3_000, 6_000];
/** Messages per ReceiveMessage a push consumer is told to ask for (the clients' own default). */
export const PUSH_RECEIVE_BATCH_SIZE = 32;
/** Producer retry backoff handed out with publishing settings; clients keep their own max attempts. */
const PRODUCER_BACKOFF = { exponential_backoff: { initial: { seconds: 1, nanos: 0 }, max: { seconds: 10, nanos: 0 }, multiplier: 2 } };

/** apache.rocketmq.v2.Settings as proto-loader presents it (snake_case, enums as names, no defaults). */
export interface V2Settings {
  client_type?: string;
  backoff_policy?: unknown;
  publishing?: { topics?: V2Resource[]; max_body_size?: number; validate_message_type?: boolean } | null;
  subscription?: { group?: V2Resource | null; subscriptions?: unknown[]; fifo?: boolean; receive_batch_size?: number } | null;
  pub_sub?: string;
  [field: string]: unknown;
}

interface TelemetryCommand {
  status?: WireStatus | null;
  settings?: V2Settings | null;
  command?: string;
}

export interface TelemetryOptions {
  logger: Logger;
  /** Largest body the broker accepts; producers check it before sending. */
  maxBodyBytes: number;
  /** Aborted when the broker shuts down: every open stream is ended then. */
  closing?: AbortSignal;
  resendDelaysMs?: readonly number[];
}

/**
 * The settings a broker answers a client's settings with. Never an echo: the official Node.js client adopts
 * the answer, so a producer needs an exponential `backoff_policy` (anything else throws inside the client) and
 * `max_body_size` > 0 (it refuses larger bodies), and a push consumer `receive_batch_size` > 0 (0 receives
 * nothing). Other clients, the simple consumer included, get an empty Settings and keep their defaults.
 */
export function settingsReply(client: V2Settings, limits: { maxBodyBytes: number }): V2Settings {
  switch (client.client_type) {
    case 'PRODUCER':
      return {
        backoff_policy: PRODUCER_BACKOFF,
        publishing: {
          topics: client.publishing?.topics ?? [],
          max_body_size: limits.maxBodyBytes,
          validate_message_type: client.publishing?.validate_message_type === true,
        },
      };
    case 'PUSH_CONSUMER':
      return {
        subscription: {
          group: client.subscription?.group ?? null,
          subscriptions: client.subscription?.subscriptions ?? [],
          fifo: false,
          receive_batch_size: PUSH_RECEIVE_BATCH_SIZE,
        },
      };
    default:
      return {};
  }
}

/** The Telemetry handler: one settings answer per settings command, repeated on a schedule, ended on close. */
export function telemetryHandler(options: TelemetryOptions): (call: ServerDuplexStream<TelemetryCommand, TelemetryCommand>) => void {
  const logger = options.logger.child({ component: 'telemetry' });
  const resendDelaysMs = options.resendDelaysMs ?? SETTINGS_RESEND_DELAYS_MS;
  const open = new Set<() => void>();
  options.closing?.addEventListener(
    'abort',
    () => {
      for (const end of [...open]) end();
    },
    { once: true },
  );

  return (call) => {
    const clientId = call.metadata.get('x-mq-client-id')[0]?.toString() ?? '';
    const timers: NodeJS.Timeout[] = [];
    let reply: TelemetryCommand | undefined;
    let blocked = false;
    let finished = false;

    // Backpressure: while the peer does not read, skip writes; the latest answer goes out on 'drain'.
    const send = (): void => {
      if (finished || blocked || !reply) return;
      blocked = !call.write(reply);
    };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      for (const timer of timers) clearTimeout(timer);
      open.delete(end);
      logger.debug({ clientId }, 'telemetry stream closed');
    };
    const end = (): void => {
      if (finished) return;
      finish();
      call.end();
    };
    open.add(end);
    if (options.closing?.aborted) {
      end();
      return;
    }

    call.on('drain', () => {
      blocked = false;
      send();
    });
    call.on('data', (command: TelemetryCommand) => {
      if (command.command !== 'settings' || !command.settings) {
        logger.trace({ clientId, command: command.command }, 'telemetry command ignored');
        return;
      }
      const first = reply === undefined;
      reply = { status: okStatus(), settings: settingsReply(command.settings, options) };
      if (first) {
        logger.debug({ clientId, clientType: command.settings.client_type }, 'telemetry settings answered');
        for (const delayMs of resendDelaysMs) timers.push(setTimeout(send, delayMs));
      }
      send();
    });
    call.on('end', end);
    call.on('cancelled', finish);
    call.on('error', (err) => {
      logger.debug({ clientId, err }, 'telemetry stream failed');
      finish();
    });
  };
}
