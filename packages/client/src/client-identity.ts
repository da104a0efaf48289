import { hostname } from 'node:os';
import { Metadata } from '@grpc/grpc-js';
import { validateRoomName, type Logger } from '@roomq/protocol';

/** Room of a client that names none, neither by option nor by ROOMQ_ROOM. */
export const DEFAULT_ROOM = 'default';

let instanceCounter = 0;

/** The client's room: the option, else the ROOMQ_ROOM environment variable, else DEFAULT_ROOM. */
export function resolveRoom(room: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const resolved = room ?? (env['ROOMQ_ROOM'] || DEFAULT_ROOM);
  validateRoomName(resolved);
  return resolved;
}

/**
 * A client ID of the form `<room>@<hostname>@<pid>@<n>`. Routers read the room from its first part, so the
 * ID is the one place every request states which room the client runs in.
 */
export function makeClientId(room: string): string {
  instanceCounter += 1;
  return `${room}@${hostname()}@${process.pid}@${instanceCounter}`;
}

/** What the SDK puts on every request. */
export interface ClientIdentity {
  clientId: string;
  room: string;
}

export function resolveIdentity(options: { clientId?: string | undefined; room?: string | undefined }): ClientIdentity {
  const room = resolveRoom(options.room);
  return { room, clientId: options.clientId ?? makeClientId(room) };
}

/** Request metadata every roomq client call carries. */
export function requestMetadata(identity: ClientIdentity): Metadata {
  const metadata = new Metadata();
  metadata.set('x-mq-client-id', identity.clientId);
  metadata.set('x-mq-protocol', 'v2');
  metadata.set('x-mq-language', 'NODE_JS');
  return metadata;
}

/**
 * Compares the room routers placed this client in with the room it was configured with. They differ when
 * the client ID carries no room the router knows, or a router maps clients by endpoint or address; worth
 * one info line per distinct answer, not one per reply.
 */
export class RoomObserver {
  private reported: string | undefined;

  constructor(
    private readonly configuredRoom: string,
    private readonly logger: Logger,
  ) {}

  /** The last room a router reported, or undefined before any answer. */
  get routerRoom(): string | undefined {
    return this.reported;
  }

  observe(clientRoom: string | undefined): void {
    if (!clientRoom || clientRoom === this.reported) return;
    this.reported = clientRoom;
    if (clientRoom !== this.configuredRoom) {
      this.logger.info({ configuredRoom: this.configuredRoom, routerRoom: clientRoom }, 'the router placed this client in another room than configured; routes follow the router (set the room option or ROOMQ_ROOM to change it)');
    }
  }
}
