#!/usr/bin/env node
// Applies a manifest's objects to a cluster, server-side and in file order (a Namespace before
// what goes in it), or deletes them in reverse order: how install.sh puts Slipway's own objects
// (the dashboard's route, k8s/dashboard.yaml) into a cluster it may have no kubectl for.
//   node bin/kube-apply.ts apply|delete KUBECONFIG FILE
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient, parseManifest } from '../server/kube/client.ts';
import { renderError } from '../server/errors.ts';

/** How long a delete waits for its namespaces to be gone (an install right after must not find one terminating). */
const NAMESPACE_GONE_MS = 120_000;

/** The field manager of what install.sh applies (not `slipway`: the server prunes nothing of it). */
const FIELD_MANAGER = 'slipway-install';

async function main(): Promise<number> {
  const [verb, kubeconfig, file] = process.argv.slice(2);
  if ((verb !== 'apply' && verb !== 'delete') || !kubeconfig || !file) {
    process.stderr.write('usage: kube-apply.ts apply|delete KUBECONFIG FILE\n');
    return 2;
  }
  const objects = parseManifest(readFileSync(file, 'utf8'));
  const kube = new KubeClient(kubeconfig);
  for (const o of verb === 'apply' ? objects : [...objects].reverse()) {
    const what = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
    if (verb === 'apply') {
      await kube.apply(o, FIELD_MANAGER);
      process.stdout.write(`${what} applied\n`);
    } else {
      process.stdout.write(`${what} ${(await kube.remove(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace)) ? 'deleted' : 'was not there'}\n`);
    }
  }
  if (verb === 'delete') {
    const deadline = Date.now() + NAMESPACE_GONE_MS;
    for (const ns of objects.filter((o) => o.kind === 'Namespace')) {
      while (await kube.read('v1', 'Namespace', ns.metadata.name)) {
        if (Date.now() > deadline) throw new Error(`namespace ${ns.metadata.name} is still terminating after ${NAMESPACE_GONE_MS / 1000} s`);
        await sleep(500);
      }
    }
  }
  return 0;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  const r = renderError(err);
  process.stderr.write(`${r.message}\n`);
  if (r.id) process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
