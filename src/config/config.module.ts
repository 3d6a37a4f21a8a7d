import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { QuireConfig } from './config.js';

export const QUIRE_CONFIG = Symbol('QUIRE_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: QuireConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: QUIRE_CONFIG, useValue: config }], exports: [QUIRE_CONFIG] };
  }
}
