import { PackBuilder } from '../server/build/pack.ts';
import type { BuildRequest, BuildResult } from '../server/build/builder.ts';

/** The real pack builder, remembering how long its last build took (ms). */
export class TimedPack extends PackBuilder {
  last = 0;
  override async build(req: BuildRequest): Promise<BuildResult> {
    const t0 = performance.now();
    try {
      return await super.build(req);
    } finally {
      this.last = performance.now() - t0;
    }
  }
}
