// An app's persistent volumes as storage:list, storage:mount and storage:unmount show them.
import { Type, type Static } from 'typebox';

const Mount = Type.Object({ process: Type.String(), path: Type.String() }, { additionalProperties: false });

/** One volume of `storage:list --json`. */
export const VolumeInfoSchema = Type.Object({
  name: Type.String(),
  size: Type.String(),
  status: Type.String({ description: "The claim's phase: Bound, Pending (bound when a pod first mounts it), Lost, Terminating; absent without a claim." }),
  mounts: Type.Array(Mount),
  usedBytes: Type.Optional(Type.Integer({ minimum: 0, description: "Bytes in use on the volume's file system, as the kubelet of the node that mounts it last measured them (every 10 s to a minute). Absent while no running pod mounts it, or where its storage class reports no use." })),
  capacityBytes: Type.Optional(Type.Integer({ minimum: 0, description: "Bytes its file system holds in all, with usedBytes: a little less than size (the file system's own records) where the class holds volumes to their size; more than size where it does not (a directory on the node's disk)." })),
  usageUnknown: Type.Optional(Type.String({ description: 'Why the use of a volume a running pod mounts could not be read (one sentence).' })),
}, { additionalProperties: false });
/** A volume as storage:list shows it. */
export type VolumeInfo = Static<typeof VolumeInfoSchema>;

/** What storage:mount and storage:unmount did: the volume, where, and whether it rolled out. */
export const MountResultSchema = Type.Object({
  name: Type.String(), process: Type.String(), path: Type.String(),
  rolledOut: Type.Boolean({ description: 'False when the app runs nothing yet: stored for its first deploy.' }),
}, { additionalProperties: false });
/** What storage:mount and storage:unmount did. */
export type MountResult = Static<typeof MountResultSchema>;
