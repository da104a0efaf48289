import { parseConfig } from '@roomq/protocol';
import { z } from 'zod';
import type { PeerDefinition } from './peers/peer.js';

/** Sections `--only` can pick; all of them run by default. */
export const SECTIONS = ['storage', 'client', 'replication', 'peers', 'drill'] as const;
export type Section = (typeof SECTIONS)[number];

/** Peers run when `--peers` is not given: every one that answers, in its default variants. */
export const DEFAULT_PEERS = 'all';

export interface PeerPick {
  peer: PeerDefinition;
  variants: string[];
}

export interface PeerSelection {
  /** False for the default: a peer that does not answer is then expected, not an error worth stressing. */
  explicit: boolean;
  picks: PeerPick[];
}

/**
 * `--peers all` | `none` | a comma list of `NAME` (its default variants) and `NAME:VARIANT`, e.g.
 * `nats,rabbitmq:classic,redis:always`.
 */
export function peerSelectionSchema(peers: readonly PeerDefinition[]): z.ZodType<PeerSelection, string> {
  const choices = peers.flatMap((p) => [p.name, ...p.variants.map((v) => `${p.name}:${v}`)]).join(', ');
  return z.string().transform((text, ctx): PeerSelection => {
    const tokens = text.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
    if (tokens.length === 1 && tokens[0] === 'all') return { explicit: false, picks: peers.map((peer) => ({ peer, variants: [...peer.defaultVariants] })) };
    if (tokens.length === 1 && tokens[0] === 'none') return { explicit: true, picks: [] };
    if (tokens.length === 0) {
      ctx.addIssue({ code: 'custom', message: `name at least one peer, or "all" or "none" (choices: ${choices})` });
      return z.NEVER;
    }
    const picks: PeerPick[] = [];
    for (const token of tokens) {
      const [name, variant] = token.split(':', 2) as [string, string | undefined];
      const peer = peers.find((p) => p.name === name);
      if (!peer || (variant !== undefined && !peer.variants.includes(variant))) {
        ctx.addIssue({ code: 'custom', message: `unknown peer ${JSON.stringify(token)}; use "all", "none" or a comma list of ${choices}` });
        return z.NEVER;
      }
      let pick = picks.find((p) => p.peer === peer);
      if (!pick) picks.push((pick = { peer, variants: [] }));
      for (const v of variant === undefined ? peer.defaultVariants : [variant]) if (!pick.variants.includes(v)) pick.variants.push(v);
    }
    return { explicit: true, picks };
  });
}

export function benchOptionsSchema(peers: readonly PeerDefinition[]) {
  return z.object({
    /** About a minute in all: smaller counts and shorter windows, the same scenarios. */
    quick: z.boolean().default(false),
    /** The whole report as one JSON object on the last line of stdout; progress is silent. */
    json: z.boolean().default(false),
    only: z
      .string()
      .optional()
      .transform((text, ctx): Set<Section> | undefined => {
        if (text === undefined) return undefined;
        const names = text.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
        const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
        if (names.length === 0 || unknown.length > 0) {
          ctx.addIssue({ code: 'custom', message: `unknown section ${unknown.map((u) => JSON.stringify(u)).join(', ') || '""'}; use a comma list of ${SECTIONS.join(', ')}` });
          return z.NEVER;
        }
        return new Set(names as Section[]);
      }),
    // prefault: the default is the flag's text, parsed like one the user typed.
    peers: peerSelectionSchema(peers).prefault(DEFAULT_PEERS),
    'results-dir': z.string().min(1).default('results'),
  });
}

export type BenchOptions = z.output<ReturnType<typeof benchOptionsSchema>>;

/** Parses the command line's values once; a bad flag fails here with its name in the message. */
export function parseBenchOptions(values: Record<string, unknown>, peers: readonly PeerDefinition[]): BenchOptions {
  return parseConfig(benchOptionsSchema(peers), values, 'npm run bench: bad option');
}
