import { Injectable } from '@nestjs/common';
import { IsString, Matches } from 'class-validator';
import { Admin, KafkaMessage } from 'kafkajs';
import { DLT_HEADERS, KafkaListener, NonRetryableError, Payload } from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  collect,
  committedOffsets,
  createTopic,
  headersOf,
  produce,
  startListenerApp,
  until,
} from '../../../test/support/listener-app';

/** What must never leave the service in a header: a patient's name and medical record number. */
const PATIENT_DATA = ['Maria', 'Lopez', 'MRN-123456'];

class Admission {
  @IsString()
  name!: string;

  @Matches(/^P-\d+$/)
  mrn!: string;
}

/** A driver-style error that quotes the offending value, as PostgreSQL's unique violation does. */
class DuplicateAdmission extends NonRetryableError {}

describe('dead-letter headers carry no part of the record (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('redacts the parser, validation and handler messages and the stack trace of every dead letter', async () => {
    const topic = await createTopic(admin, 'redaction', 1);
    const groupId = uniqueName('g-redaction');
    const handled: string[] = [];

    @Injectable()
    class AdmissionListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, payload: Admission })
      handle(@Payload() admission: Admission) {
        if (admission.mrn === 'P-2') {
          throw new DuplicateAdmission(
            `duplicate key value violates unique constraint "admissions_mrn_key": Key (name)=(${admission.name}) already exists`,
          );
        }
        handled.push(admission.mrn);
      }
    }

    await produce(topic, [
      { key: 'MRN-123456', value: 'this is not json: Maria Lopez MRN-123456' },
      // V8 quotes the first ten characters of bad JSON: here, the name.
      { key: 'MRN-123456', value: 'Maria Lopez, MRN-123456' },
      { key: 'MRN-123456', value: JSON.stringify({ name: 'Maria Lopez', mrn: 'MRN-123456' }) },
      { key: 'MRN-123456', value: JSON.stringify({ name: 'Maria Lopez', mrn: 'P-2' }) },
      // The marker: handled once every record before it is finished.
      { key: 'P-3', value: JSON.stringify({ name: 'A. Nother', mrn: 'P-3' }) },
    ]);
    const app = await startListenerApp([AdmissionListener], { deadLetter: { includeStackTrace: true } });
    const observer = await collect(`${topic}-dlq`);
    let dead: KafkaMessage[];
    try {
      await until(async () => (await committedOffsets(admin, groupId, topic))[0] === 5);
      await until(() => observer.messages.length >= 4);
      dead = [...observer.messages];
    } finally {
      await observer.stop();
      await app.close();
    }

    expect(handled).toEqual(['P-3']);
    const headers = dead.map(headersOf);
    expect(headers.map((h) => [h[DLT_HEADERS.originalOffset], h[DLT_HEADERS.errorClass]])).toEqual([
      ['0', 'DeserializationError'],
      ['1', 'DeserializationError'],
      ['2', 'PayloadValidationError'],
      ['3', 'NonRetryableError'],
    ]);
    // The record's own bytes travel untouched; only the headers are ours.
    expect(dead[0].value?.toString()).toBe('this is not json: Maria Lopez MRN-123456');
    for (const h of headers) expect(h[DLT_HEADERS.stackTrace]).toMatch(/ at /);
    const leaks = headers.flatMap((h, i) =>
      Object.entries(h)
        .filter(([, value]) => PATIENT_DATA.some((p) => value.toLowerCase().includes(p.toLowerCase())))
        .map(([name, value]) => `record ${i}: ${name}=${value}`),
    );
    expect(leaks).toEqual([]);
    expect(headers[0][DLT_HEADERS.errorMessage]).not.toContain('this is not');
    expect(headers[1][DLT_HEADERS.errorMessage]).toContain(`Unexpected token '…', "…"... is not valid JSON`);
    expect(JSON.parse(headers[2][DLT_HEADERS.validationErrors])).toEqual([
      { field: 'mrn', constraints: ['matches'] },
    ]);
    expect(headers[3][DLT_HEADERS.errorMessage]).toBe(
      'duplicate key value violates unique constraint "…": Key (…)=(…) already exists',
    );
  });
});
