import { MAX_HEADER_VALUE_LENGTH } from '../producer/envelope';

/**
 * The one rule every error text passes before it leaves the process beside a record (dead-letter
 * headers, listener status, logs). Records carry patient data and error messages echo their input
 * (V8's JSON.parse quotes it, drivers quote values), so the text keeps its shape and loses:
 * - control characters and line breaks (they could forge log or header lines);
 * - every quoted fragment ("…", '…', `…`), the usual way a message embeds input;
 * - every stretch of 4 or more characters that also occurs in the record's value or key (compared
 *   without case);
 * and is cut to `maxLength`.
 */

/** Stretches shorter than this are too common to say anything about the value ("id", "at"). */
const MIN_ECHO_LENGTH = 4;
/** Texts are cut before matching, so a huge message costs no more than a long one. */
const MAX_INPUT_LENGTH = 8_192;
const REDACTED = '…';

export interface RedactionSource {
  key: Buffer | null;
  value: Buffer | null;
}

/** A quote not preceded by a letter or digit opens a fragment ("can't" does not); unclosed runs to the end. */
const QUOTED = /(?<![\p{L}\p{N}])(["'`])[^]*?(?:\1|$)/gu;

export function redactErrorText(
  text: string,
  source?: RedactionSource,
  maxLength = MAX_HEADER_VALUE_LENGTH,
): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point here
  let out = text.slice(0, MAX_INPUT_LENGTH).replace(/[\u0000-\u001f\u007f]+/g, ' ');
  out = out.replace(QUOTED, (_match, quote: string) => `${quote}${REDACTED}${quote}`);
  if (source) out = removeEchoes(out, [source.value, source.key]);
  out = out.trim();
  return out.length > maxLength ? out.slice(0, maxLength) : out;
}

/** Lower case without changing the length, so positions in both strings agree. */
function lower(text: string): string {
  const lowered = text.toLowerCase();
  if (lowered.length === text.length) return lowered;
  let out = '';
  for (const ch of text) {
    const l = ch.toLowerCase();
    out += l.length === ch.length ? l : ch;
  }
  return out;
}

/**
 * Marks every window of MIN_ECHO_LENGTH characters of the text that occurs in a source; a longer
 * shared stretch is covered by its windows. This may remove a little more than the shared
 * substrings themselves, never less. One pass over each source, whatever its size.
 */
function removeEchoes(text: string, sources: (Buffer | null)[]): string {
  if (text.length < MIN_ECHO_LENGTH) return text;
  const subject = lower(text);
  const windows = new Map<string, number[]>();
  for (let i = 0; i + MIN_ECHO_LENGTH <= subject.length; i++) {
    const window = subject.slice(i, i + MIN_ECHO_LENGTH);
    const at = windows.get(window);
    if (at) at.push(i);
    else windows.set(window, [i]);
  }
  const covered = new Uint8Array(text.length);
  for (const source of sources) {
    if (!source || source.length < MIN_ECHO_LENGTH || windows.size === 0) continue;
    const haystack = lower(source.toString('utf8'));
    for (let j = 0; j + MIN_ECHO_LENGTH <= haystack.length && windows.size > 0; j++) {
      const window = haystack.slice(j, j + MIN_ECHO_LENGTH);
      const at = windows.get(window);
      if (!at) continue;
      for (const i of at) covered.fill(1, i, i + MIN_ECHO_LENGTH);
      windows.delete(window);
    }
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) out += text[i];
    else if (i === 0 || !covered[i - 1]) out += REDACTED;
  }
  return out;
}
