import { SetMetadata } from '@nestjs/common';
import type { Role } from '../auth/api-token.entity.js';

export const PUBLIC_KEY = 'quire:public';
export const ROLE_KEY = 'quire:role';

/** No token needed (only `/health`). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
/** The least role a route needs; without it reads need `viewer` and writes need `admin`. */
export const RequireRole = (role: Role) => SetMetadata(ROLE_KEY, role);
