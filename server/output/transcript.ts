/** What a pipeline stage may say to the pusher; rendered in the Heroku/Dokku vocabulary. */
export interface Transcript {
  /** A new stage: `-----> text`. */
  step(text: string): void;
  /** Detail under the current stage, indented 7 spaces. */
  detail(text: string): void;
  /** A warning the pusher should see: ` !     text`. */
  warn(text: string): void;
  /** A line exactly as given (`=====> Application deployed:`). */
  raw(text: string): void;
  /**
   * Resolves once the pusher has taken what was written so far, up to a small backlog (at once
   * while it keeps up). A stage relaying a tenant's output (the release command) waits on it.
   */
  drained(): Promise<void>;
}

/**
 * Renders transcript calls into lines written by `write` (one call per complete line); `drained`
 * is the destination's own (default: a destination that never holds anything back).
 */
export function lineTranscript(write: (line: string) => void, drained: () => Promise<void> = () => Promise.resolve()): Transcript {
  return {
    step: (text) => write(`-----> ${text}`),
    detail: (text) => {
      for (const line of text.split('\n')) write(`       ${line}`);
    },
    warn: (text) => write(` !     ${text}`),
    raw: (text) => write(text),
    drained,
  };
}

/**
 * A transcript that forwards to `t` until `detach()`, then drops every line (and holds nothing
 * back): a push that ends while its job carries on (`git push -o detach`) stops echoing there.
 */
export function detachable(t: Transcript): { transcript: Transcript; detach(): void } {
  let attached = true;
  const when = (f: (text: string) => void) => (text: string) => { if (attached) f(text); };
  return {
    transcript: {
      step: when((x) => t.step(x)), detail: when((x) => t.detail(x)), warn: when((x) => t.warn(x)), raw: when((x) => t.raw(x)),
      drained: () => (attached ? t.drained() : Promise.resolve()),
    },
    detach: () => { attached = false; },
  };
}
