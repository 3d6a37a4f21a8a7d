import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { existsSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../api/auth.decorators.js';
import { packageRoot } from '../books/book-schema.js';

// The portal is plain files served by the service itself: no build step, no second server.
// It signs in with a token in the browser; the API and socket.io check it on every call.
const STATIC = join(packageRoot(), 'src', 'portal', 'static');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.html': 'text/html' };

@ApiExcludeController()
@Controller()
export class PortalController {
  @Public()
  @Get()
  index(@Res() res: Response) {
    this.send(res, 'index.html');
  }

  @Public()
  @Get('portal/:file')
  asset(@Param('file') file: string, @Res() res: Response) {
    this.send(res, file);
  }

  private send(res: Response, file: string) {
    const path = normalize(join(STATIC, file));
    if (!path.startsWith(STATIC) || !existsSync(path)) throw new NotFoundException(`no such file: ${file}`);
    const type = TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';
    res.setHeader('content-type', `${type}; charset=utf-8`);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('content-security-policy', "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'");
    res.sendFile(path);
  }
}
