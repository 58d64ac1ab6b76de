import { redactErrorText } from './redact';

const source = (value: string | null, key: string | null = null) => ({
  value: value === null ? null : Buffer.from(value),
  key: key === null ? null : Buffer.from(key),
});

/** What V8's JSON.parse says about the value, as the deserializer would see it. */
function parseError(value: string): string {
  try {
    JSON.parse(value);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('value parsed');
}

describe('redactErrorText', () => {
  it("removes V8's quotation of bad JSON", () => {
    const value = 'this is not json: Maria Lopez MRN-123456';
    const message = parseError(value);
    expect(message).toContain('"this is not"');
    const redacted = redactErrorText(message);
    expect(redacted).toBe(`Unexpected token '…', "…"... is not valid JSON`);
  });

  it('removes every quoted fragment, in any of the three quotes, closed or not', () => {
    expect(redactErrorText(`duplicate key value "Maria" for 'Lopez' and \`MRN-1\``)).toBe(
      `duplicate key value "…" for '…' and \`…\``,
    );
    expect(redactErrorText(`bad value "Maria Lopez MRN-123456`)).toBe(`bad value "…"`);
  });

  it("keeps apostrophes inside words (can't) from opening a fragment", () => {
    expect(redactErrorText("can't reach the chart service")).toBe("can't reach the chart service");
  });

  it('removes every stretch of 4+ characters shared with the value or key, without case', () => {
    const record = source('{"name":"Maria Lopez","mrn":"MRN-123456"}', 'patient-42');
    expect(redactErrorText('lookup failed for maria lopez (mrn-123456) of PATIENT-42', record)).toBe(
      'lookup failed for … (…) of …',
    );
  });

  it('keeps stretches shorter than 4 characters and text the value does not hold', () => {
    const record = source('MRN-123456');
    expect(redactErrorText('no MRN in the registry: 123', record)).toBe('no MRN in the registry: 123');
  });

  it('drops control characters and line breaks, and caps the length', () => {
    expect(redactErrorText('line one\nline two\u0007\r\n')).toBe('line one line two');
    expect(redactErrorText('x'.repeat(10_000))).toHaveLength(512);
    expect(redactErrorText('abcdef', undefined, 3)).toBe('abc');
  });

  it('copes with empty, null and huge sources', () => {
    expect(redactErrorText('', source('abcd'))).toBe('');
    expect(redactErrorText('abc', source(null, null))).toBe('abc');
    const huge = 'a'.repeat(1_000_000) + 'Maria Lopez';
    expect(redactErrorText('patient Maria Lopez not found', source(huge))).toBe('patient … not found');
  });
});
