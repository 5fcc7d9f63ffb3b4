// The byte streams and terminal of a one-off command: what the SSH and HTTP interfaces hand the
// deployer and its Kubernetes client.
import type { Readable } from 'node:stream';

/** A terminal's size in character cells. */
export interface TerminalSize {
  cols: number;
  rows: number;
}

/** The terminal of a one-off run with a PTY: its size now, and later changes. */
export interface Terminal extends TerminalSize {
  onResize(listener: (size: TerminalSize) => void): void;
}

/**
 * The raw byte streams a one-off command talks to. Output is paced by its reader: each write
 * resolves once the reader can take more (at once while it keeps up), and the command's stream
 * is held until then, so a client that does not read stops the command instead of filling the
 * server's memory. A write never rejects: a reader that went away is the abort signal's business.
 */
export interface ProcessIo {
  /** Its standard input; the command sees end of file when this ends. */
  stdin: Readable;
  stdout(chunk: Buffer): Promise<void>;
  stderr(chunk: Buffer): Promise<void>;
  /** Present when the caller has a terminal: the command gets a PTY of this size. */
  terminal?: Terminal;
}
