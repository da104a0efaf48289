import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

/**
 * Loads every .proto of roomq once and exposes the gRPC service definitions and client constructors.
 * Messages are plain objects with snake_case fields (keepCase), int64 as numbers, enums as their names.
 */

const PROTO_ROOT = fileURLToPath(new URL('../proto', import.meta.url));

/** The proto-loader settings every roomq process uses; clients and servers must agree. */
export const PROTO_LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/**
 * Channel options for every roomq client channel. grpc-js backs a failed subchannel's reconnects off up to
 * 120 s and fails calls fast meanwhile, so a peer that came back (a restarted master, broker or router) stayed
 * unreachable for tens of seconds; callers pace their own retries, the channel reconnects within a second.
 */
export const FAST_RECONNECT_CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
} as const;

const FILES = ['apache/rocketmq/v2/service.proto', 'roomq/v1/data.proto', 'roomq/v1/registry.proto', 'roomq/v1/admin.proto', 'roomq/v1/route.proto', 'roomq/v1/replication.proto'];

let loaded: GrpcObject | undefined;

function root(): GrpcObject {
  loaded ??= loadPackageDefinition(loadSync(FILES, PROTO_LOADER_OPTIONS));
  return loaded;
}

function lookup(path: string): ServiceClientConstructor {
  let node: unknown = root();
  for (const part of path.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`gRPC service ${path} is missing from the loaded protos`);
  return node as ServiceClientConstructor;
}

export function messagingServiceClient(): ServiceClientConstructor {
  return lookup('apache.rocketmq.v2.MessagingService');
}
export function dataServiceClient(): ServiceClientConstructor {
  return lookup('roomq.v1.DataService');
}
export function registryServiceClient(): ServiceClientConstructor {
  return lookup('roomq.v1.RegistryService');
}
export function adminServiceClient(): ServiceClientConstructor {
  return lookup('roomq.v1.AdminService');
}

export function routeServiceClient(): ServiceClientConstructor {
  return lookup('roomq.v1.RouteService');
}

export function messagingServiceDefinition(): ServiceDefinition {
  return messagingServiceClient().service;
}
export function dataServiceDefinition(): ServiceDefinition {
  return dataServiceClient().service;
}
export function registryServiceDefinition(): ServiceDefinition {
  return registryServiceClient().service;
}
export function adminServiceDefinition(): ServiceDefinition {
  return adminServiceClient().service;
}
export function routeServiceDefinition(): ServiceDefinition {
  return routeServiceClient().service;
}

export function replicationServiceClient(): ServiceClientConstructor {
  return lookup('roomq.v1.ReplicationService');
}

export function replicationServiceDefinition(): ServiceDefinition {
  return replicationServiceClient().service;
}
