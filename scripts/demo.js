#!/usr/bin/env node
// `npm run demo`: drives a day on a ward against the running system (`npm start` in another
// terminal) and prints what each service did: patients admitted, a day of pain assessments, two
// escalations, a protocol revision, EMR updates (one stale), an acknowledgment and a re-escalation,
// then the logs, the audit trail and the analytics the events produced.
'use strict';
const { randomBytes } = require('node:crypto');
const { DEV_DEFAULTS } = require('./dev-defaults');

const base = (envName, portVar, port) =>
  process.env[envName] || `http://127.0.0.1:${process.env[portVar] || port}`;
const URLS = {
  monolith: base('MONOLITH_URL', 'MONOLITH_PORT', 3000),
  logging: base('LOGGING_SERVICE_URL', 'LOGGING_SERVICE_PORT', 3001),
  analytics: base('ANALYTICS_SERVICE_URL', 'ANALYTICS_SERVICE_PORT', 3002),
  notification: base('NOTIFICATION_SERVICE_URL', 'NOTIFICATION_SERVICE_PORT', 3003),
};
const AUDIT_TOKENS = process.env.AUDIT_READER_TOKENS || DEV_DEFAULTS.AUDIT_READER_TOKENS;
const [AUDITOR, AUDIT_TOKEN] = AUDIT_TOKENS.split(',')[0].split(/:(.*)/s);
const ACK_TIMEOUT_MS = Number(
  process.env.NOTIFICATION_ACK_TIMEOUT_MS || DEV_DEFAULTS.NOTIFICATION_ACK_TIMEOUT_MS,
);

const run = randomBytes(3).toString('hex');
const ward = `3B`;
const bold = (s) => `\x1b[1m${s}\x1b[0m`;
const dim = (s) => `\x1b[2m${s}\x1b[0m`;
const section = (title) => console.log(`\n${bold(`== ${title}`)}`);
const line = (s = '') => console.log(`  ${s}`);

class DemoError extends Error {}

async function call(method, url, { body, headers = {}, expect = [200, 201, 202] } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    throw new DemoError(`${method} ${url} failed: ${error.cause?.code || error.message}`);
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!expect.includes(response.status)) {
    throw new DemoError(`${method} ${url} answered ${response.status}: ${text.slice(0, 500)}`);
  }
  return json;
}

const get = (url, headers) => call('GET', url, { headers });
const post = (url, body, headers) => call('POST', url, { body, headers });
const auditHeaders = { authorization: `Bearer ${AUDIT_TOKEN}`, 'x-purpose': 'demo' };

/** Polls until `probe` returns a value, or gives up after `ms`. */
async function eventually(what, probe, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new DemoError(`Gave up waiting for ${what} after ${ms / 1000} s.`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function checkRunning() {
  for (const [name, url] of Object.entries(URLS)) {
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ready) {
      throw new DemoError(
        `The ${name} at ${url} is not ready. Start the system with \`npm start\` in another terminal first.`,
      );
    }
  }
}

async function main() {
  await checkRunning();
  const started = new Date();
  const actor = (name, correlationId) => ({
    'x-actor': name,
    'x-correlation-id': correlationId ?? `demo-${run}-${randomBytes(3).toString('hex')}`,
  });
  console.log(bold(`A day on ward ${ward} (demo run ${run})`));

  section('monolith: patients admitted');
  const people = [
    { givenName: 'Maria', familyName: 'Lopez', birthDate: '1961-04-12', sex: 'female' },
    { givenName: 'Tom', familyName: 'Becker', birthDate: '1978-09-30', sex: 'male' },
    { givenName: 'Aiko', familyName: 'Sato', birthDate: '1990-01-05', sex: 'female' },
  ];
  const patients = [];
  for (const [i, person] of people.entries()) {
    const mrn = `MRN-${run}-${i + 1}`;
    const patient = await post(`${URLS.monolith}/patients`, { mrn, ward, ...person }, actor('nurse-joy'));
    patients.push(patient);
    line(`${person.givenName} ${person.familyName}  ${dim(`MRN ${mrn}  id ${patient.id}`)}`);
  }
  const [maria, tom, aiko] = patients;

  section('monolith: a day of pain assessments (escalate at score >= 7, or a rise of 3)');
  const hoursAgo = (h) => new Date(Date.now() - h * 3_600_000).toISOString();
  const day = [
    [20, maria, 3, 'lower back'],
    [20, tom, 2, 'left knee'],
    [19, aiko, 1, 'abdomen'],
    [14, maria, 4, 'lower back'],
    [14, tom, 2, 'left knee'],
    [13, aiko, 2, 'abdomen'],
    [8, tom, 6, 'left knee'],
    [7, aiko, 2, 'abdomen'],
    [2, maria, 8, 'lower back'],
    [1, tom, 5, 'left knee'],
  ];
  const escalations = [];
  let mariaCorrelation;
  for (const [h, patient, score, location] of day) {
    const correlationId = `demo-${run}-${randomBytes(3).toString('hex')}`;
    const result = await post(
      `${URLS.monolith}/patients/${patient.id}/assessments`,
      { score, location, recordedBy: 'nurse-joy', recordedAt: hoursAgo(h) },
      actor('nurse-joy', correlationId),
    );
    const note = result.escalation
      ? `  -> ESCALATION ${result.escalation.severity} (${result.escalation.reasons.join(', ')})`
      : '';
    line(
      `${`-${h} h`.padStart(5)}  ${patient.givenName.padEnd(6)} ${String(score).padStart(2)}/10  ${location}${note}`,
    );
    if (result.escalation) {
      escalations.push({ patient, escalation: result.escalation });
      if (patient === maria) mariaCorrelation = correlationId;
    }
  }

  section('monolith: treatment protocol, then a revision (each revision a new version)');
  const protocol = await post(
    `${URLS.monolith}/patients/${maria.id}/protocols`,
    { name: 'Lumbar pain', steps: ['Paracetamol 1 g every 6 h', 'Physiotherapy daily'] },
    actor('dr-grey'),
  );
  const revised = await post(
    `${URLS.monolith}/protocols/${protocol.id}/revisions`,
    {
      name: 'Lumbar pain',
      steps: ['Paracetamol 1 g every 6 h', 'Oxycodone 5 mg if score >= 7', 'Physiotherapy daily'],
    },
    actor('dr-grey'),
  );
  line(`protocol ${protocol.id}: version ${protocol.version} -> version ${revised.version}`);

  section('monolith: EMR updates (event-carried state, out-of-order safe)');
  const emr = (emrVersion, allergies, medications) => ({
    mrn: maria.mrn,
    emrVersion,
    demographics: { givenName: 'Maria', familyName: 'Lopez', birthDate: '1961-04-12', sex: 'female' },
    allergies,
    medications,
  });
  const beforeEmr = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await post(
    `${URLS.monolith}/emr/patient-updates`,
    emr(
      2,
      [{ substance: 'penicillin', reaction: 'rash' }],
      [
        { name: 'paracetamol', dose: '1 g' },
        { name: 'oxycodone', dose: '5 mg' },
      ],
    ),
  );
  await post(`${URLS.monolith}/emr/patient-updates`, emr(1, [], []));
  line('sent EMR version 2, then a late version 1');
  const synced = await eventually('the EMR update to be applied', async () => {
    const p = await get(`${URLS.monolith}/patients/${maria.id}`);
    return p.emrVersion === 2 ? p : undefined;
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const settled = await get(`${URLS.monolith}/patients/${maria.id}`);
  line(
    `Maria now: EMR version ${settled.emrVersion}, allergies ${settled.allergies.map((a) => a.substance).join(', ')}, ` +
      `medications ${settled.medications.map((m) => m.name).join(', ')} ${dim('(version 1 was ignored)')}`,
  );
  void synced;

  section('notification-service: escalations become notifications');
  const notificationsOf = async (escalationId) =>
    (await get(`${URLS.notification}/notifications?escalationId=${escalationId}`)).items;
  for (const { patient, escalation } of escalations) {
    const [first] = await eventually(`the notification of ${patient.givenName}'s escalation`, async () => {
      const items = await notificationsOf(escalation.id);
      return items.length > 0 ? items : undefined;
    });
    line(
      `${patient.givenName}: level ${first.level} to ${first.recipient} via ${first.channel} ${dim(`(notification ${first.id})`)}`,
    );
  }
  const mariaEscalation = escalations.find((e) => e.patient === maria);
  const tomEscalation = escalations.find((e) => e.patient === tom);
  const [mariaNotice] = await notificationsOf(mariaEscalation.escalation.id);
  await post(
    `${URLS.notification}/notifications/${mariaNotice.id}/acknowledge`,
    { acknowledgedBy: 'dr-grey', note: 'Oxycodone given' },
    actor('dr-grey'),
  );
  line(`dr-grey acknowledged Maria's escalation`);
  line(`nobody acknowledges Tom's; waiting for its deadline (${ACK_TIMEOUT_MS / 1000} s)…`);
  const second = await eventually(
    "Tom's re-escalation",
    async () => (await notificationsOf(tomEscalation.escalation.id)).find((n) => n.level === 2),
    ACK_TIMEOUT_MS + 30_000,
  );
  line(`Tom: re-escalated to level 2, ${second.recipient} via ${second.channel}`);

  section('logging-service: operation logs of the escalating assessment, by correlation id');
  const logs = await eventually('the logs of the escalation', async () => {
    const { items } = await get(`${URLS.logging}/logs?correlationId=${mariaCorrelation}`);
    return items.some((l) => l.service === 'notification-service') ? items : undefined;
  });
  for (const entry of [...logs].reverse()) {
    line(`${entry.occurredAt}  ${entry.service.padEnd(21)} ${entry.operation.padEnd(22)} ${entry.message}`);
  }

  section(`logging-service: Maria's audit trail (as ${AUDITOR})`);
  const stream = encodeURIComponent(`Patient/${maria.id}`);
  const history = await eventually('the audit trail', async () => {
    const h = await get(`${URLS.logging}/audit/streams/${stream}/events`, auditHeaders);
    return h.events.some((e) => e.eventType === 'patient.emr-synced') ? h : undefined;
  });
  for (const e of history.events) {
    line(
      `v${e.version}  ${e.action}  ${e.eventType.padEnd(20)} by ${e.actor.padEnd(10)} ${dim(e.hash.slice(0, 16))}`,
    );
  }
  const across = await get(
    `${URLS.logging}/audit/events?patientId=${maria.id}&from=${started.toISOString()}&limit=100`,
    auditHeaders,
  );
  line(`everything about Maria, across streams and services, in position order:`);
  for (const e of across.items.filter((e) => e.eventType !== 'audit.read')) {
    line(
      `  #${e.position.padEnd(5)} ${e.sourceService.padEnd(21)} ${e.eventType.padEnd(26)} ${e.streamId.split('/')[0]}`,
    );
  }
  const asOf = await get(
    `${URLS.logging}/audit/streams/${stream}/state?at=${encodeURIComponent(beforeEmr)}`,
    auditHeaders,
  );
  const now = await get(
    `${URLS.logging}/audit/streams/${stream}/state?at=${encodeURIComponent(new Date().toISOString())}`,
    auditHeaders,
  );
  line(
    `state before the EMR update (v${asOf.version}): allergies ${JSON.stringify(asOf.state.allergies ?? [])}`,
  );
  line(`state now (v${now.version}): allergies ${JSON.stringify(now.state.allergies ?? [])}`);
  const verify = await get(`${URLS.logging}/audit/streams/${stream}/verify`, auditHeaders);
  line(
    `hash chain: ${verify.valid ? 'valid' : `BROKEN at version ${verify.firstBrokenVersion}`} (${verify.checked} events)`,
  );
  const reads = await get(
    `${URLS.logging}/audit/events?actor=${encodeURIComponent(AUDITOR)}&eventType=audit.read&from=${started.toISOString()}`,
    auditHeaders,
  );
  line(`these audit queries were audited too: ${reads.items.length} audit.read events by ${AUDITOR}`);

  section('analytics-service: the day in numbers');
  const window = `from=${encodeURIComponent(started.toISOString())}`;
  const rate = await eventually('the analytics', async () => {
    const r = await get(`${URLS.analytics}/analytics/escalation-rate?${window}&ward=${ward}`);
    return r.assessments >= day.length && r.escalations >= escalations.length ? r : undefined;
  });
  line(
    `escalation rate on ${ward}: ${rate.escalations}/${rate.assessments} = ${(rate.rate * 100).toFixed(0)} %`,
  );
  const scores = await get(`${URLS.analytics}/analytics/pain-scores?by=patient&${window}&ward=${ward}`);
  for (const g of scores.groups) {
    const who = patients.find((p) => p.id === g.key);
    line(
      `${(who ? who.givenName : g.key).padEnd(6)} n=${g.count} mean ${g.mean.toFixed(1)} max ${g.max} last ${g.last}`,
    );
  }
  const latency = await get(`${URLS.analytics}/analytics/latency?${window}&eventType=assessment.recorded`);
  line(
    `assessment.recorded latency: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms (${latency.count} operations)`,
  );

  section('Look further');
  const m = URLS.monolith;
  const l = URLS.logging;
  const a = URLS.analytics;
  const n = URLS.notification;
  line(`${m}/patients/${maria.id}                      the patient`);
  line(`${m}/patients/${maria.id}/assessments          her assessments`);
  line(`${l}/logs?correlationId=${mariaCorrelation}    logs of one request, across services`);
  line(`${l}/audit/streams/${stream}/events   audit trail (Authorization: Bearer ${AUDIT_TOKEN})`);
  line(`${a}/analytics/counts?granularity=hour          events per hour`);
  line(`${n}/notifications?patientId=${tom.id}   Tom's notifications`);
  line(`${m}/metrics  and  /health/ready on every service`);
}

main().catch((error) => {
  if (error instanceof DemoError) {
    console.error(`\n\x1b[31m[demo]\x1b[0m ${error.message}`);
    process.exit(1);
  }
  console.error(error);
  process.exit(1);
});
