// The one git service both transports end in: which git programs may run (the allow-list), which
// GIT_PROTOCOL values are passed on, the access check, the push's registration (so its hook call
// can be tied to the authenticated pusher), and stopping git and the push when the client goes
// away. The transports keep only their byte plumbing.
import type { RunningDeploy, Services } from '../context.ts';
import type { Identity } from '../auth/identity.ts';
import { authorizeRepo } from '../ops/access.ts';
import { actorOf, failureText, outcomeOfError, recordAfter } from '../ops/audit/recorder.ts';
import type { Piped } from '../exec.ts';
import { gitPipe } from '../git.ts';
import { repoPath, serveSettings } from '../repos.ts';
import { refuseWhileUpgrading } from '../ops/upgrade/maintenance.ts';

/** The git services a client may ask for, by the names both transports use. */
export type GitService = 'git-upload-pack' | 'git-receive-pack';

const SERVICES: ReadonlySet<string> = new Set<GitService>(['git-upload-pack', 'git-receive-pack']);

/** Whether `name` is a git service we serve (anything else is refused before git runs). */
export function isGitService(name: string): name is GitService {
  return SERVICES.has(name);
}

// What GIT_PROTOCOL may carry (`version=2`, and the like); anything else is dropped, not passed on.
const GIT_PROTOCOL = /^[a-z0-9=:.,-]{1,64}$/i;

/** The client's GIT_PROTOCOL, if it is a value git may be given; undefined otherwise. */
export function gitProtocol(value: unknown): string | undefined {
  return typeof value === 'string' && GIT_PROTOCOL.test(value) ? value : undefined;
}

/** How git is run: the pack program over a stream (SSH), or its stateless RPC, one request at a time (smart HTTP). */
export type GitProgram = { kind: 'pack' } | { kind: 'stateless-rpc' };

/** One authorised request's git process, and how to stop it. */
export interface ServedGit {
  git: Piped;
  /** Git's exit code, once git has exited and the push (if any) is forgotten. */
  exited: Promise<number>;
  /** The client went away or broke a limit: abort the push's pipeline and stop git. */
  cancel(reason: string): void;
}

/** One request for git, as a transport hands it over after authentication. */
export interface GitRequest {
  identity: Identity;
  app: string;
  service: GitService;
  /** An HTTP info/refs request only advertises refs: nothing is pushed by it. */
  advertiseOnly?: boolean;
  gitProtocol: string | undefined;
  program: GitProgram;
}

/** Starts git for an authorised request on the repository the server chose; throws NotFoundError if the key may not use the app. */
export function serveGit(services: Pick<Services, 'config' | 'store' | 'pushes' | 'audit'>, req: GitRequest): ServedGit {
  const pushing = req.service === 'git-receive-pack' && !req.advertiseOnly;
  try {
    authorizeRepo({ services, identity: req.identity }, req.app);
  } catch (err) {
    // A push or fetch of an app the key may not use: a denied attempt (a push that goes ahead is recorded when its hook ends).
    recordAfter(services, { ...actorOf(services.store, req.identity, 'git'), action: req.service === 'git-receive-pack' ? 'push' : 'fetch', app: req.app, outcome: outcomeOfError(err, services.store, req.app), meta: { transport: req.identity.via, error: failureText(err) } });
    throw err;
  }
  // A push now would be cut in half by the upgrade's restart: refused before git starts.
  if (req.service === 'git-receive-pack') refuseWhileUpgrading(services.config, req.identity);
  const push: RunningDeploy | undefined = pushing ? services.pushes.begin(req.app, req.identity) : undefined;
  const env: Record<string, string | undefined> = {
    GIT_PROTOCOL: req.gitProtocol,
    // The hook sends this back; it is the only way its call is tied to this pusher.
    SLIPWAY_PUSH_ID: push?.id,
  };
  const stateless = req.program.kind === 'stateless-rpc' ? ['--stateless-rpc', ...(req.advertiseOnly ? ['--advertise-refs'] : [])] : [];
  const git = gitPipe([...serveSettings(services.config), req.service.slice('git-'.length), ...stateless, repoPath(services.config, req.app)], { env });
  let done = false;
  const exited = git.exited.then((code) => {
    done = true;
    if (push) services.pushes.end(push);
    return code;
  });
  return {
    git,
    exited,
    cancel: (reason) => {
      if (done) return;
      push?.controller.abort(new Error(reason));
      git.kill();
    },
  };
}
