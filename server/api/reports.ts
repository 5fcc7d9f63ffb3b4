// What admins look at (doctor, the garbage collection report) and who may use an app: reads
// only, the same objects as their SSH commands print with --json.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { Loose, Nullable } from '../shapes/common.ts';
import { actor } from './change.ts';
import { DoctorCheckSchema } from '../shapes/keys.ts';
import { RoundSchema } from '../shapes/rounds.ts';
import { runDoctor } from '../ops/admin/doctor.ts';
import { listRounds, runRound } from '../ops/admin/rounds.ts';
import { previewGarbage } from '../ops/gc/gc.ts';
import { appAccess } from '../ops/keys/keys.ts';

export const reportRoutes = [
  route({
    method: 'GET', url: '/rounds', tag: 'admin', need: 'admin',
    summary: 'The background rounds: interval, runs, last run and last error (= rounds --json)',
    response: { 200: Type.Array(RoundSchema) },
    handle: async (call) => ({ status: 200, json: listRounds(actor(call)) }),
  }),
  route({
    method: 'POST', url: '/rounds/:name/run', tag: 'admin', need: 'admin',
    summary: 'Run a background round now; answers once it ended (= rounds:run NAME --json)',
    params: Type.Object({ name: Type.String({ pattern: '^[a-z][a-z-]{0,40}$' }) }),
    response: { 200: RoundSchema },
    handle: async (call) => ({ status: 200, json: await runRound(actor(call), call.params.name) }),
  }),
  route({
    method: 'GET', url: '/doctor', tag: 'admin', need: 'admin',
    summary: "Check Docker, pack, the builder, the registry, the cluster, disk, SSH crypto and HTTPS on a public address (= doctor --json); 200 whether or not checks fail",
    response: { 200: Type.Array(DoctorCheckSchema) },
    handle: async (call) => ({ status: 200, json: await runDoctor(actor(call)) }),
  }),
  route({
    method: 'GET', url: '/gc', tag: 'admin', need: 'admin',
    summary: 'What garbage collection would delete now, deleting nothing (= gc --dry-run --json)',
    response: { 200: Type.Object({
      keepReleases: Type.Integer({ description: 'SLIPWAY_KEEP_RELEASES: the images and config copies of this many releases are kept.' }),
      apps: Type.Array(Type.Union([
        Type.Object({ app: Type.String(), skipped: Type.String() }, { additionalProperties: false }),
        Type.Object({
          app: Type.String(),
          kept: Type.Integer({ description: 'Images kept.' }),
          removed: Type.Integer({ description: 'Images that would be deleted.' }),
          removedBytes: Nullable(Type.Integer({ description: 'What they take in the registry (null: unknown).' })),
          collected: Type.Array(Type.Integer(), { description: 'Releases that would lose their image (no rollback to them).' }),
          configPruned: Type.Array(Type.Integer(), { description: 'Releases whose config copy would be dropped.' }),
        }, { additionalProperties: false }),
      ])),
      cachesRemoved: Type.Array(Type.String(), { description: 'Build caches of apps that no longer exist.' }),
      storage: Loose('{runs: true}, or {runs: false, reason}: whether the registry storage would be collected.'),
    }, { additionalProperties: false }) },
    handle: async (call) => ({ status: 200, json: await previewGarbage(actor(call)) }),
  }),
  route({
    method: 'GET', url: '/apps/:app/access', tag: 'keys', need: 'read',
    summary: 'The keys granted the app (admins may use every app besides)',
    params: AppParams,
    response: { 200: Type.Object({ app: Type.String(), keys: Type.Array(Type.String()) }, { additionalProperties: false }) },
    handle: (call) => ({ status: 200, json: appAccess(actor(call), call.params.app) }),
  }),
];
