/* Text from the network, made safe to put into a sentence, and measured as the server measures it. */

// A name with right-to-left text or bidi controls is isolated (FSI…PDI) wherever it
// goes into a sentence, so that it cannot reorder the text around it.
const BIDI = /[\u0590-\u08ff\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff\ufe70-\ufefc]/;

export function isolate(text) {
  return BIDI.test(String(text)) ? '\u2068' + text + '\u2069' : text;
}

/** The length the server's limits count: code points, not UTF-16 units. */
export const codePoints = (text) => Array.from(text).length;
