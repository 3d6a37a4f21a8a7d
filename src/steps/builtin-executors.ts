// The step kinds this folder implements. `trigger` and `manual` need the job service and are
// registered by the engine; `StepExecutorRegistry.assertComplete(STEP_KINDS)` then checks all.
import type { HandlerRegistry } from './handler-registry.js';
import { HandlerStepExecutor } from './handler/handler.step.js';
import { HttpStepExecutor } from './http/http.step.js';
import { ShellStepExecutor } from './shell/shell.step.js';
import type { StepExecutorRegistry } from './step-executor.js';
import { WaitStepExecutor } from './wait/wait.step.js';

export function registerBuiltinExecutors(registry: StepExecutorRegistry, handlers: HandlerRegistry): StepExecutorRegistry {
  return registry
    .register(new ShellStepExecutor())
    .register(new HttpStepExecutor())
    .register(new WaitStepExecutor())
    .register(new HandlerStepExecutor(handlers));
}
