// Migrations in the order they run. The only way the schema changes (DESIGN.md).
import { InitialSchema1763800000000 } from './1763800000000-initial-schema.js';

export const MIGRATIONS = [InitialSchema1763800000000];
