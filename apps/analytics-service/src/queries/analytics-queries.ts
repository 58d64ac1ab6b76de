import { Injectable } from '@nestjs/common';
import { Database, InjectDatabase } from '@app/database';
import { Granularity } from '../facts/analytics-facts.repository';
import { PainGrouping } from './analytics-query.dto';
import { escalationRate, TimeWindow } from './time-window';

export interface CountBucket {
  bucketStart: string;
  eventType: string;
  count: number;
}

export interface PainScoreStats {
  /** The patient id or the ward the statistics are about. */
  key: string;
  count: number;
  mean: number;
  min: number;
  max: number;
  /** Population standard deviation of the scores in the window (0 for a single score). */
  stddev: number;
  /** The latest score in the window, and when it was recorded. */
  last: number;
  lastAt: string;
}

export interface EscalationRate {
  assessments: number;
  escalations: number;
  rate: number;
}

export interface LatencyStats {
  eventType: string;
  count: number;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** The operation types the escalation rate compares. */
export const ASSESSMENT_EVENT_TYPE = 'assessment.recorded';
export const ESCALATION_EVENT_TYPE = 'pain.escalated';

const PAIN_GROUP_COLUMN: Record<PainGrouping, string> = { patient: 'patient_id', ward: 'ward' };

/** Where-clause builder: numbered parameters in the order the conditions are added. */
class Conditions {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];

  add(sql: (param: string) => string, value: unknown): this {
    this.params.push(value);
    this.clauses.push(sql(`$${this.params.length}`));
    return this;
  }

  addIfDefined(sql: (param: string) => string, value: unknown): this {
    return value === undefined ? this : this.add(sql, value);
  }

  raw(clause: string): this {
    this.clauses.push(clause);
    return this;
  }

  get where(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

const factsIn = (window: TimeWindow) =>
  new Conditions().add((p) => `occurred_at >= ${p}`, window.from).add((p) => `occurred_at < ${p}`, window.to);

const iso = (value: Date | string): string => new Date(value).toISOString();
// Aggregates come back as strings from some drivers (bigint, numeric); the API speaks numbers.
const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null ? null : Number(value));

@Injectable()
export class AnalyticsQueries {
  constructor(@InjectDatabase() private readonly db: Database) {}

  /** Counter buckets that start within the window, oldest first. */
  async counts(granularity: Granularity, window: TimeWindow, eventType?: string): Promise<CountBucket[]> {
    const where = new Conditions()
      .add((p) => `granularity = ${p}`, granularity)
      .add((p) => `bucket_start >= ${p}`, window.from)
      .add((p) => `bucket_start < ${p}`, window.to)
      .addIfDefined((p) => `event_type = ${p}`, eventType);
    const { rows } = await this.db.query<{ bucketStart: Date; eventType: string; count: string }>(
      `SELECT bucket_start AS "bucketStart", event_type AS "eventType", count
         FROM event_counts ${where.where}
        ORDER BY bucket_start, event_type`,
      where.params,
    );
    return rows.map((r) => ({
      bucketStart: iso(r.bucketStart),
      eventType: r.eventType,
      count: num(r.count),
    }));
  }

  /**
   * Pain score statistics per patient or per ward over the assessments in the window: other facts
   * may carry the score too (an escalation names the score that raised it), but they measure nothing new.
   */
  async painScores(
    by: PainGrouping,
    window: TimeWindow,
    filter: { patientId?: string; ward?: string } = {},
  ): Promise<PainScoreStats[]> {
    const column = PAIN_GROUP_COLUMN[by];
    const where = factsIn(window)
      .raw(`event_type = '${ASSESSMENT_EVENT_TYPE}'`)
      .raw('pain_score IS NOT NULL')
      .raw(`${column} IS NOT NULL`)
      .addIfDefined((p) => `patient_id = ${p}`, filter.patientId)
      .addIfDefined((p) => `ward = ${p}`, filter.ward);
    const { rows } = await this.db.query<Record<keyof PainScoreStats, unknown>>(
      `SELECT ${column} AS key,
              count(*) AS count,
              avg(pain_score::float8) AS mean,
              min(pain_score) AS min,
              max(pain_score) AS max,
              stddev_pop(pain_score::float8) AS stddev,
              (array_agg(pain_score ORDER BY occurred_at DESC, event_id DESC))[1] AS last,
              max(occurred_at) AS "lastAt"
         FROM analytics_facts ${where.where}
        GROUP BY ${column}
        ORDER BY ${column}`,
      where.params,
    );
    return rows.map((r) => ({
      key: String(r.key),
      count: num(r.count),
      mean: num(r.mean),
      min: num(r.min),
      max: num(r.max),
      stddev: num(r.stddev),
      last: num(r.last),
      lastAt: iso(r.lastAt as Date),
    }));
  }

  /** Assessments and escalations recorded in the window (of one ward, when given). */
  async escalationRate(window: TimeWindow, ward?: string): Promise<EscalationRate> {
    const params: unknown[] = [window.from, window.to, ASSESSMENT_EVENT_TYPE, ESCALATION_EVENT_TYPE];
    if (ward !== undefined) params.push(ward);
    const { rows } = await this.db.query<{ assessments: unknown; escalations: unknown }>(
      `SELECT count(*) FILTER (WHERE event_type = $3) AS assessments,
              count(*) FILTER (WHERE event_type = $4) AS escalations
         FROM analytics_facts
        WHERE event_type IN ($3, $4) AND occurred_at >= $1 AND occurred_at < $2
              ${ward !== undefined ? 'AND ward = $5' : ''}`,
      params,
    );
    const assessments = num(rows[0].assessments);
    const escalations = num(rows[0].escalations);
    return { assessments, escalations, rate: escalationRate(assessments, escalations) };
  }

  /** Latency percentiles (continuous, interpolated) per event type over the facts with a duration. */
  async latency(window: TimeWindow, eventType?: string): Promise<LatencyStats[]> {
    const where = factsIn(window)
      .raw('duration_ms IS NOT NULL')
      .addIfDefined((p) => `event_type = ${p}`, eventType);
    const { rows } = await this.db.query<Record<keyof LatencyStats, unknown>>(
      `SELECT event_type AS "eventType",
              count(*) AS count,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
              percentile_cont(0.9) WITHIN GROUP (ORDER BY duration_ms) AS p90,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99,
              max(duration_ms) AS max
         FROM analytics_facts ${where.where}
        GROUP BY event_type
        ORDER BY event_type`,
      where.params,
    );
    return rows.map((r) => ({
      eventType: String(r.eventType),
      count: num(r.count),
      p50: numOrNull(r.p50),
      p90: numOrNull(r.p90),
      p95: numOrNull(r.p95),
      p99: numOrNull(r.p99),
      max: numOrNull(r.max),
    }));
  }
}
