// Lines that arrive in bursts (a job's transcript, followed logs), rendered at most once a frame,
// keeping the last `max`, and the box that shows them following its end unless the reader
// scrolled up.
import { useEffect, useRef, useState } from 'preact/hooks';
import { appendBounded } from './format.ts';

/** What a live-lines view works with. */
export interface LiveLines {
  lines: string[];
  /** The element showing the lines, kept scrolled to its end while the reader is near it. */
  box: { current: HTMLPreElement | null };
  /** Queues a line for the next frame. */
  add(line: string): void;
  /** Renders what is queued now (the stream ended). */
  flush(): void;
  /** Forgets what is shown and queued. */
  clear(): void;
  /** Cancels a pending frame (the stream is being closed). */
  stop(): void;
}

/** Keeps the last `max` lines, rendering queued ones once a frame. */
export function useLiveLines(max: number): LiveLines {
  const [lines, setLines] = useState<string[]>([]);
  const pending = useRef<string[]>([]);
  const frame = useRef(0);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [lines]);
  const flush = () => {
    if (frame.current) cancelAnimationFrame(frame.current);
    frame.current = 0;
    const more = pending.current;
    pending.current = [];
    if (more.length) setLines((cur) => appendBounded(cur, more, max));
  };
  return {
    lines,
    box,
    add(line) {
      pending.current.push(line);
      if (!frame.current) frame.current = requestAnimationFrame(flush);
    },
    flush,
    clear() {
      pending.current = [];
      setLines([]);
    },
    stop() {
      if (frame.current) cancelAnimationFrame(frame.current);
      frame.current = 0;
    },
  };
}
