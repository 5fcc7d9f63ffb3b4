// The benchmarks' one reader of the environment: the testbed's exports (SLIPWAY_*, KUBECONFIG)
// and the BENCH_* knobs. Each bench file picks what it needs from this snapshot.
export const benchEnv: Readonly<Record<string, string | undefined>> = Object.freeze({ ...process.env });
