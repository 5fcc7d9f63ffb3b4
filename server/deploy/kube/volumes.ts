// An app's volumes as the cluster holds them: claims made before a first deploy, deleted with
// their data, read back for storage:list.
import type { V1PersistentVolumeClaim } from '../../kube/types.ts';
import { appSelector, namespaceFor } from '../../kube/labels.ts';
import { namespaceObject } from '../objects.ts';
import { claimObject } from '../volumes.ts';
import type { VolumeClaims, VolumeState } from '../deployer.ts';
import type { Volume } from '../../model.ts';
import { KubePart } from './context.ts';

/** An app's PersistentVolumeClaims. */
export class KubeVolumes extends KubePart implements VolumeClaims {

  async applyVolume(app: string, volume: Volume): Promise<void> {
    // Before a first deploy there is no namespace yet: make it as a deploy would (the rest of the
    // guards come with that deploy; the quota counts the claim from then on).
    const ns = namespaceObject(app);
    if (!(await this.k.client.read('v1', 'Namespace', ns.metadata.name))) await this.k.client.apply(ns);
    await this.k.client.apply(claimObject(app, volume));
  }

  async removeVolume(app: string, name: string): Promise<boolean> {
    return this.k.client.remove('v1', 'PersistentVolumeClaim', name, namespaceFor(app));
  }

  async volumeStates(app: string): Promise<VolumeState[]> {
    const claims = await this.k.client.list<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', namespaceFor(app), { labelSelector: appSelector(app) });
    return claims.map((c) => {
      const capacity = c.status?.capacity?.storage;
      return { name: c.metadata?.name ?? '', phase: c.metadata?.deletionTimestamp ? 'Terminating' : c.status?.phase ?? 'Pending', ...(capacity ? { capacity } : {}) };
    });
  }
}
