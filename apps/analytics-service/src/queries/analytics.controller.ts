import { Controller, Get, Query } from '@nestjs/common';
import {
  CountsQueryDto,
  EscalationRateQueryDto,
  LatencyQueryDto,
  PainScoresQueryDto,
} from './analytics-query.dto';
import { AnalyticsQueries } from './analytics-queries';
import { resolveWindow, TimeWindow } from './time-window';

/** Every answer names the window it covers, since both ends may have been defaulted. */
const windowOf = (window: TimeWindow) => ({ from: window.from.toISOString(), to: window.to.toISOString() });

@Controller('analytics')
export class AnalyticsController {
  constructor(private readonly queries: AnalyticsQueries) {}

  @Get('counts')
  async counts(@Query() query: CountsQueryDto) {
    const window = resolveWindow(query);
    const buckets = await this.queries.counts(query.granularity, window, query.eventType);
    return { granularity: query.granularity, ...windowOf(window), buckets };
  }

  @Get('pain-scores')
  async painScores(@Query() query: PainScoresQueryDto) {
    const window = resolveWindow(query);
    const groups = await this.queries.painScores(query.by, window, {
      patientId: query.patientId,
      ward: query.ward,
    });
    return { by: query.by, ...windowOf(window), groups };
  }

  @Get('escalation-rate')
  async escalationRate(@Query() query: EscalationRateQueryDto) {
    const window = resolveWindow(query);
    const rate = await this.queries.escalationRate(window, query.ward);
    return { ...windowOf(window), ...(query.ward !== undefined && { ward: query.ward }), ...rate };
  }

  /** One event type's percentiles when `eventType` is given (zero counts included), else every type's. */
  @Get('latency')
  async latency(@Query() query: LatencyQueryDto) {
    const window = resolveWindow(query);
    const groups = await this.queries.latency(window, query.eventType);
    if (query.eventType === undefined) return { ...windowOf(window), groups };
    const [stats] = groups;
    return {
      ...windowOf(window),
      ...(stats ?? {
        eventType: query.eventType,
        count: 0,
        p50: null,
        p90: null,
        p95: null,
        p99: null,
        max: null,
      }),
    };
  }
}
