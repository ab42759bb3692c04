// The printing boundary: text that came from outside (spec text, names, file names, a header's
// macros, a device's replies) may hold control characters, and an escape sequence written raw
// to a terminal can recolour, move the cursor, rewrite lines already printed or retitle the
// window. Every command prints such text through printable(): the diagnostics and summaries of
// build, gen, check and render, the drift and diff reports, and conform's table and evidence.

/** C0 and C1 controls, DEL, and the Unicode controls that reorder text (bidi overrides). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

const escape = (char: string): string => {
  const code = char.codePointAt(0)!;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * `text` with every control character written as an escape (`\x1b`, `\x0d`, `\u202e`).
 * Newlines are kept when `multiline` is set, so that a report of several lines stays one;
 * tabs and everything else are escaped.
 */
export function printable(text: string, multiline = false): string {
  if (!multiline) return text.replace(CONTROL, escape);
  return text
    .split('\n')
    .map((line) => line.replace(CONTROL, escape))
    .join('\n');
}
