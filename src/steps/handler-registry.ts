// In-process TypeScript handlers that books call by name (`kind: handler`, `serialize_handler`).
// The registry refuses a duplicate name at registration, and a book naming a handler that is not
// registered fails validation, so a missing handler is found when books load, not mid-deploy.
import type { RenderContext } from '../templates/template.types.js';

export interface HandlerContext {
  job: { id: string; action: string; triggered_by: string };
  deployment: RenderContext['deployment'] | null;
  step: { name: string; data: Record<string, unknown> };
  /** the rendered step: its fields with templates evaluated */
  rendered: Record<string, unknown>;
  log(line: string): void;
  signal: AbortSignal;
}

export type StepHandler = (ctx: HandlerContext) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;
/** Evaluated once at job creation; the result is frozen as `step.data`. */
export type SerializeHandler = (ctx: RenderContext & { step_name: string }) => Record<string, unknown> | Promise<Record<string, unknown>>;

export class HandlerRegistry {
  private readonly handlers = new Map<string, StepHandler>();
  private readonly serializers = new Map<string, SerializeHandler>();

  register(name: string, handler: StepHandler): this {
    if (this.handlers.has(name)) throw new Error(`step handler '${name}' is registered twice`);
    this.handlers.set(name, handler);
    return this;
  }

  registerSerializer(name: string, handler: SerializeHandler): this {
    if (this.serializers.has(name)) throw new Error(`serialize handler '${name}' is registered twice`);
    this.serializers.set(name, handler);
    return this;
  }

  handler(name: string): StepHandler | undefined {
    return this.handlers.get(name);
  }

  serializer(name: string): SerializeHandler | undefined {
    return this.serializers.get(name);
  }

  handlerNames(): ReadonlySet<string> {
    return new Set(this.handlers.keys());
  }

  serializerNames(): ReadonlySet<string> {
    return new Set(this.serializers.keys());
  }
}
