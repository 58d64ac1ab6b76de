'use strict';

// Writes bench/results/latest.json, a dated copy beside it, and latest.md (a readable table).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const RESULTS_DIR = path.join(__dirname, '..', 'results');

function machine() {
  const cpus = os.cpus();
  const gb = (os.totalmem() / 1024 ** 3).toFixed(0);
  return `${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length} cores, ${gb} GB RAM, ${os.type()} ${os.release()} (${os.arch()})`;
}

function fmt(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'number') return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en');
  return String(value);
}

function yesNo(met) {
  if (met === null || met === undefined) return '—';
  return met ? '✅ yes' : '❌ no';
}

function bound(result, which) {
  const value = result[which];
  if (value === null || value === undefined) return '—';
  const op = result.better === 'higher' ? '≥' : '≤';
  const absoluteOp = result.absolute?.better === 'higher' ? '≥' : '≤';
  const extra = result.absolute ? `, ${result.absolute.label} ${absoluteOp} ${result.absolute[which]}` : '';
  return `${op} ${value}${extra}`;
}

function markdown(report) {
  const lines = [
    '# Benchmark results',
    '',
    `${report.date} · ${report.machine} · Node ${report.node} · kafkajs ${report.kafkajs} · Kafka ${report.kafka}`,
    '',
    `Load average (1 min) at start / end: ${report.loadAverage.start} / ${report.loadAverage.end}. ` +
      'Other work shares this machine; ratios of arms run side by side are what to compare, not absolute numbers.',
    '',
    'Ratios are ours ÷ theirs, from the medians of the runs. A run of some benchmarks keeps the others',
    'from earlier runs; each section below says when it was measured.',
    '',
    '| id | measure | arms (median) | unit | ratio (ours ÷ theirs) | better | target | target met | floor | floor met | runs |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [id, r] of Object.entries(report.results)) {
    if (r.error) {
      lines.push(`| ${id} | error: ${r.error.split('\n')[0]} | — | — | — | — | — | — | — | — | — |`);
      continue;
    }
    const arms = Object.entries(r.arms)
      .map(([name, value]) => `${name}: ${fmt(value)}`)
      .join('<br>');
    const better = r.ratio === null ? '— (recorded)' : `${r.better} is better`;
    lines.push(
      `| ${id} | ${r.title} | ${arms} | ${r.unit} | ${fmt(r.ratio)} | ${better} | ${bound(r, 'target')} | ${yesNo(r.met.target)} | ${bound(r, 'floor')} | ${yesNo(r.met.floor)} | ${r.runs} |`,
    );
  }
  lines.push('');
  for (const [id, r] of Object.entries(report.results)) {
    lines.push(`## ${id}: ${r.title ?? ''}`, '');
    if (r.error) {
      lines.push('```', r.error, '```', '');
      continue;
    }
    if (r.absolute) lines.push(`- ${r.absolute.label}: ${fmt(r.absolute.value)}`);
    for (const note of r.notes ?? []) lines.push(`- ${note}`);
    if (r.details) lines.push(`- Details: \`${JSON.stringify(r.details)}\``);
    lines.push(`- Runs: \`${JSON.stringify(r.samples)}\``);
    lines.push(`- Measured: ${r.measuredAt ?? report.date}`, '');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The dated copy holds this run; latest.json keeps the results of benchmarks this run left out (a
 * subset run such as `npm run bench -- B1`), each stamped with the date it was measured.
 */
function writeReport(report) {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  for (const result of Object.values(report.results)) result.measuredAt ??= report.date;
  const stamp = report.date.replace(/[:.]/g, '-');
  fs.writeFileSync(path.join(RESULTS_DIR, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  let earlierReport = { results: {} };
  try {
    earlierReport = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, 'latest.json'), 'utf8'));
  } catch {
    // No earlier results: this run is all there is.
  }
  const earlier = earlierReport.results ?? {};
  const kept = Object.fromEntries(Object.entries(earlier).filter(([id]) => !(id in report.results)));
  for (const result of Object.values(kept)) result.measuredAt ??= earlierReport.date;
  const ids = [...new Set([...Object.keys(earlier), ...Object.keys(report.results)])].sort(
    (a, b) => parseFloat(a.slice(1)) - parseFloat(b.slice(1)) || a.localeCompare(b),
  );
  const merged = {
    ...report,
    results: Object.fromEntries(ids.map((id) => [id, report.results[id] ?? kept[id]])),
  };
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(merged, null, 2)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), markdown(merged));
  return RESULTS_DIR;
}

module.exports = { machine, markdown, writeReport, RESULTS_DIR };
