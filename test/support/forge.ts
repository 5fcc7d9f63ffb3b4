// A forge for the sync tests: bare repositories in a directory, served over smart HTTP on
// loopback by git's own CGI (`git http-backend`, argument arrays), and a way to commit to them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { pipe, runChecked } from '../../server/exec.ts';
import { relayCgi } from './cgi.ts';
import { gitEnv } from './harness.ts';

export interface TestForge {
  root: string;
  /** The HTTP URL of a repository (`NAME.git` under root). */
  url(name: string): string;
  /** Makes a bare repository. */
  create(name: string): Promise<void>;
  /** Commits `files` on `branch` of the repository (a work tree of its own) and pushes; returns the commit. */
  commit(name: string, files: Record<string, string>, branch?: string): Promise<string>;
  /** Deletes a branch of the repository, as deleting it on a forge does. */
  deleteBranch(name: string, branch: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the forge: http://127.0.0.1:PORT/NAME.git for every bare NAME.git under `root`. */
export async function startForge(root: string): Promise<TestForge> {
  mkdirSync(root, { recursive: true });
  const env = gitEnv(join(root, '..', 'forge-home'));
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://forge.invalid');
    const cgi = pipe('git', ['http-backend'], {
      env: {
        GIT_PROJECT_ROOT: root, GIT_HTTP_EXPORT_ALL: '1', PATH_INFO: u.pathname, REQUEST_METHOD: req.method, QUERY_STRING: u.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'], CONTENT_LENGTH: req.headers['content-length'], HTTP_CONTENT_ENCODING: req.headers['content-encoding'],
        GIT_PROTOCOL: req.headers['git-protocol'] as string | undefined, REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    relayCgi(cgi.stdout, res, () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const work = join(root, '..', 'forge-work');
  return {
    root,
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    create: async (name) => { await runChecked('git', ['init', '-q', '--bare', '-b', 'main', join(root, `${name}.git`)], { env }); },
    commit: async (name, files, branch = 'main') => {
      const wd = join(work, name);
      mkdirSync(wd, { recursive: true });
      await runChecked('git', ['init', '-q', '-b', branch, wd], { env });
      await runChecked('git', ['checkout', '-q', '-B', branch], { cwd: wd, env });
      for (const [f, content] of Object.entries(files)) writeFileSync(join(wd, f), content);
      await runChecked('git', ['add', '-A'], { cwd: wd, env });
      await runChecked('git', ['commit', '-q', '--allow-empty', '-m', `change ${Object.keys(files).join(' ')}`], { cwd: wd, env });
      await runChecked('git', ['push', '-q', '--force', join(root, `${name}.git`), `HEAD:refs/heads/${branch}`], { cwd: wd, env });
      return (await runChecked('git', ['rev-parse', 'HEAD'], { cwd: wd, env })).stdout.trim();
    },
    deleteBranch: async (name, branch) => {
      await runChecked('git', ['--git-dir', join(root, `${name}.git`), 'update-ref', '-d', `refs/heads/${branch}`], { env });
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** GitHub's signature header value for `body` under `secret`. */
export function githubSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A GitHub push payload for `branch` at `commit`. */
export function githubPush(branch: string, commit: string): string {
  return JSON.stringify({ ref: `refs/heads/${branch}`, before: '0'.repeat(40), after: commit, repository: { full_name: 'owner/repo' } });
}

/** GitHub's push payload for deleting `branch`, which was at `commit`. */
export function githubDeletion(branch: string, commit: string): string {
  return JSON.stringify({ ref: `refs/heads/${branch}`, before: commit, after: '0'.repeat(40), created: false, deleted: true, repository: { full_name: 'owner/repo' } });
}
