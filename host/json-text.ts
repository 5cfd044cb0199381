// JSON that people write by hand (app.json, board files, scenarios): parse it, and when it is not
// JSON say where, as line:column, the way an editor shows it, instead of V8's character offset
// ("... in JSON at position 212"). Pure: takes text, touches nothing.

export class JsonTextError extends Error {
  constructor(message: string, readonly line?: number, readonly column?: number) { super(message); }
}

/** JSON.parse(text); a syntax error becomes a JsonTextError "line L, column C: <what V8 says>". */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    if (text.trim() === "") return fail("empty: expected a JSON value");
    const at = /at position (\d+)/.exec(message);
    const what = message.replace(/\s*in JSON at position \d+.*$/, "").replace(/^JSON\.parse: /, "");
    // "Unexpected end of JSON input" has no position: it is the end of the text.
    const { line, column } = lineColumn(text, at ? Number(at[1]) : text.length);
    throw new JsonTextError(`line ${line}, column ${column}: ${what}`, line, column);
  }
}

function fail(message: string): never { // a message with no place in the text
  throw new JsonTextError(message);
}

/** 1-based line and column of a UTF-16 offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1, start = 0;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) { line++; start = i + 1; }
  return { line, column: offset - start + 1 };
}
