// YAML for the Kubernetes side (js-yaml lives only here): kubeconfig files and manifests.
import { loadAll } from 'js-yaml';

/** The documents of a YAML text, in order (an empty text has none). */
export function yamlDocuments(text: string): unknown[] {
  return loadAll(text);
}
