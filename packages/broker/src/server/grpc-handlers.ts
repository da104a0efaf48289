import { grpcHandlers } from '@roomq/protocol';

/** The shared gRPC adapters (see @roomq/protocol grpc-handlers.ts), naming the broker in their messages. */
export const { unary, failureStatus, withUnsupported } = grpcHandlers('broker');
