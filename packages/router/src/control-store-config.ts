import { z } from 'zod';

/** Where the router keeps its control state. */
export const ControlStoreConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('file'),
      /** The control file; default `<dataDir>/control.json`. */
      path: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('redis'),
      /** e.g. `redis://127.0.0.1:6379/0`; routers of every room use the same one. */
      url: z.string().regex(/^rediss?:\/\/\S+$/, 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379'),
      /** Prefix of every key, so several clusters can share one Redis; the store's default when absent. */
      keyPrefix: z.string().min(1).optional(),
    })
    .strict(),
]);

export type ControlStoreConfig = z.output<typeof ControlStoreConfigSchema>;
