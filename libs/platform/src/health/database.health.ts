import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Database, InjectDatabase } from '@app/database';

/** The service's own database answers a trivial query in time. */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @InjectDatabase() private readonly db: Database,
  ) {}

  async isHealthy(key = 'database', timeoutMs = 2_000) {
    const indicator = this.health.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.db.query('SELECT 1'),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs))),
      ]);
      return indicator.up({ kind: this.db.kind });
    } catch {
      return indicator.down({ kind: this.db.kind, reason: 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  }
}
