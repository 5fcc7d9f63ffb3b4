// The benchmarks' one reader of the environment: the testbed's exports (SLIPWAY_*, KUBECONFIG)
// and the BENCH_* knobs. Each bench file picks what it needs from this snapshot.
export const benchEnv: Readonly<Record<string, string | undefined>> = Object.freeze({ ...process.env });

/** The testbed's exports a bench that pushes and deploys needs (each '' when unset: requireTestbed names it). */
export const pushTestbed = Object.freeze({
  ingress: benchEnv.SLIPWAY_TEST_INGRESS ?? '',
  pack: benchEnv.SLIPWAY_PACK ?? '',
  dockerHost: benchEnv.DOCKER_HOST ?? '',
  registry: benchEnv.SLIPWAY_REGISTRY ?? '',
  builder: benchEnv.SLIPWAY_BUILDER ?? '',
  kubeconfig: benchEnv.KUBECONFIG ?? '',
});

/** Exits (2) naming the first of `settings` that is empty: a testbed export the bench needs. */
export function requireTestbed(bench: string, settings: Readonly<Record<string, unknown>>): void {
  for (const [k, v] of Object.entries(settings)) {
    if (v === '') {
      process.stderr.write(`bench/${bench}: ${k} is not set; run eval "$(npm run -s testbed)" first\n`);
      process.exit(2);
    }
  }
}
