// The `demo.*` handlers the example books call. They run anywhere: no network, no docker.
import { setTimeout as sleep } from 'node:timers/promises';
import { HandlerRegistry } from './handler-registry.js';
import { FailedStepError, RetryableStepError } from './step-errors.js';

export function registerDemoHandlers(registry: HandlerRegistry): HandlerRegistry {
  return registry
    .register('demo.plan-layout', ({ step, log }) => {
      const replicas = Number(step.data.replicas ?? 1);
      const dataDir = String(step.data.data_dir ?? '/tmp');
      const layout = Array.from({ length: replicas }, (_, i) => `${dataDir}/replica-${i + 1}`);
      for (const dir of layout) log(`planned ${dir}`);
      return { layout, replicas };
    })
    .register('demo.render-config', ({ rendered, step, log }) => {
      const settings = { ...(step.data as Record<string, unknown>), ...((rendered.settings as Record<string, unknown>) ?? {}) };
      const config = Object.entries(settings)
        .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
        .join('\n');
      log(config);
      return { config, lines: config.split('\n').length };
    })
    .register('demo.verify', async ({ step, signal, log }) => {
      // `fail_first` attempts fail with a retryable error, to show retries in the portal.
      const seconds = Number(step.data.seconds ?? 1);
      log(`verifying for ${seconds}s`);
      await sleep(seconds * 1000, undefined, { signal });
      if (step.data.fail === true) throw new FailedStepError('verification failed: the demo was asked to fail');
      if (step.data.flaky === true && Math.random() < 0.5) throw new RetryableStepError('verification flaked, will retry', 1);
      return { verified: true };
    })
    .registerSerializer('demo.pick-port', ({ deployment }) => {
      // A stable port per deployment name, so every run of one deployment agrees.
      const name = deployment?.name ?? '';
      let hash = 0;
      for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
      return { port: 20000 + (hash % 10000) };
    });
}

/** The engine's registry: the demo handlers plus whatever a deployment of Quire registers. */
export const handlerRegistry = registerDemoHandlers(new HandlerRegistry());
