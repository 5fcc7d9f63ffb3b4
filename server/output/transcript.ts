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
}

/** Renders transcript calls into lines written by `write` (one call per complete line). */
export function lineTranscript(write: (line: string) => void): Transcript {
  return {
    step: (text) => write(`-----> ${text}`),
    detail: (text) => {
      for (const line of text.split('\n')) write(`       ${line}`);
    },
    warn: (text) => write(` !     ${text}`),
    raw: (text) => write(text),
  };
}
