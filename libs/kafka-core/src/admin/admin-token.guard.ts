import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KafkaCoreModuleOptions } from '../kafka-core.options';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `Authorization: Bearer <admin token>`. Without a configured token every call is refused: an admin
 * surface is never open by default. Compared in constant time (on digests, so lengths leak nothing).
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(@Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const token = this.options.admin?.token;
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>()
      .headers.authorization;
    const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
    if (!token || !presented || !timingSafeEqual(digest(token), digest(presented))) {
      throw new UnauthorizedException('A valid admin token is required (Authorization: Bearer <token>)');
    }
    return true;
  }
}
