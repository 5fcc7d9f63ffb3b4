// What admins look at (doctor, the garbage collection report) and who may use an app: reads
// only, the same objects as their SSH commands print with --json.
import { Type } from 'typebox';
import { route } from './route.ts';
import { AppParams } from './schemas.ts';
import { actor } from './change.ts';
import { DoctorCheckSchema } from '../shapes/keys.ts';
import { RoundSchema } from '../shapes/rounds.ts';
import { CollectionPreviewSchema } from '../shapes/gc.ts';
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
    response: { 200: CollectionPreviewSchema },
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
