import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** The opened database, shared by every module. */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(dataSource: DataSource): DynamicModule {
    return { module: DatabaseModule, providers: [{ provide: DataSource, useValue: dataSource }], exports: [DataSource] };
  }
}
