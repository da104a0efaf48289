import { grpcHandlers } from '@roomq/protocol';

/** The shared gRPC adapters (see @roomq/protocol grpc-handlers.ts), naming the router in their messages. */
export const { unary, failureStatus, statusOnlyServerStream, statusOnlyBidiStream } = grpcHandlers('router');
