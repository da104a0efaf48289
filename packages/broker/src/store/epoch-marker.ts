/**
 * Where each group epoch starts in the log. A member that takes over its group's writes (an acting master after
 * a room cut, or the configured master on failback) first records the offset at which its epoch begins; the
 * record replicates with the log, survives recovery and truncation, and so every member knows, for any epoch,
 * where the next one started. A member rejoining after a promotion is cut back to that point.
 *
 * The marker is an OFFSET_COMMIT record of a reserved consumer group (`#epoch`, a name no client can commit:
 * `#` is outside the group-name alphabet) whose topic is the epoch number and whose offset is the epoch's start
 * offset. That makes it ride every path OFFSET_COMMIT records already have — replication byte for byte,
 * rebuilding from the log on recovery, restoring the previous value on truncation — with no new record type.
 */

/** The reserved consumer group of epoch markers. */
export const EPOCH_GROUP = '#epoch';

/** Before any promotion a group is in epoch 1, which starts at offset 0. */
export const FIRST_EPOCH = 1;

export interface EpochStart {
  epoch: number;
  /** Physical offset of the first byte written in this epoch. */
  startOffset: number;
}

/** The topic field of an epoch marker. */
export function epochMarkerTopic(epoch: number): string {
  return String(epoch);
}

/** The epoch an offset-table entry of the reserved group names, or undefined for anything else. */
export function epochOfMarker(group: string, topic: string): number | undefined {
  if (group !== EPOCH_GROUP || !/^[1-9]\d{0,15}$/.test(topic)) return undefined;
  return Number(topic);
}

/** Epochs in ascending order, with the implicit first epoch at offset 0 when the log holds no marker for it. */
export function epochHistory(markers: Iterable<EpochStart>): EpochStart[] {
  const list = [...markers].sort((a, b) => a.epoch - b.epoch);
  if (list.length === 0 || list[0]!.epoch > FIRST_EPOCH) list.unshift({ epoch: FIRST_EPOCH, startOffset: 0 });
  return list;
}
