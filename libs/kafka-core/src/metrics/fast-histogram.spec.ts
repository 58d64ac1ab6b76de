import { register } from 'prom-client';
import { FastHistogram } from './fast-histogram';

describe('FastHistogram', () => {
  afterEach(() => register.removeSingleMetric('test_duration_seconds'));

  it('exports cumulative buckets, sum and count per label set in the Prometheus text format', async () => {
    const histogram = new FastHistogram('test_duration_seconds', 'test', [0.01, 0.1, 1]);
    histogram.register();
    const a = histogram.child({ listener: 'a' });
    for (const value of [0.005, 0.05, 0.05, 0.5, 5]) a.observe(value);
    histogram.child({ listener: 'b' }).observe(0.1);
    // The same label set resolves to the same series.
    histogram.child({ listener: 'a' }).observe(0.001);

    const text = await register.getSingleMetricAsString('test_duration_seconds');
    expect(text).toContain('# TYPE test_duration_seconds histogram');
    expect(text).toContain('test_duration_seconds_bucket{listener="a",le="0.01"} 2');
    expect(text).toContain('test_duration_seconds_bucket{listener="a",le="0.1"} 4');
    expect(text).toContain('test_duration_seconds_bucket{listener="a",le="1"} 5');
    expect(text).toContain('test_duration_seconds_bucket{listener="a",le="+Inf"} 6');
    expect(text).toContain('test_duration_seconds_count{listener="a"} 6');
    expect(text).toMatch(/test_duration_seconds_sum\{listener="a"\} 5\.606/);
    expect(text).toContain('test_duration_seconds_bucket{listener="b",le="0.1"} 1');
    expect(text).toContain('test_duration_seconds_bucket{listener="b",le="0.01"} 0');
  });
});
