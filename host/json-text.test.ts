// parseJsonText: hand-written JSON errors as line:column (host/json-text.ts).
import { describe, expect, it } from "vitest";
import { JsonTextError, parseJsonText } from "./json-text.js";

describe("parseJsonText", () => {
  it("parses JSON", () => {
    expect(parseJsonText('{"a": [1, 2]}')).toEqual({ a: [1, 2] });
  });
  it("names the line and column of a syntax error, not a character offset", () => {
    const text = '{\n  "name": "heat-wave",\n  "seed": 2,\n}\n';
    let error: JsonTextError | undefined;
    try { parseJsonText(text); } catch (e) { error = e as JsonTextError; }
    expect(error).toBeInstanceOf(JsonTextError);
    expect(error!.message).toMatch(/^line 4, column 1: /);
    expect(error!.message).not.toMatch(/position/);
    expect([error!.line, error!.column]).toEqual([4, 1]);
  });
  it("says so for an empty file and for a truncated one", () => {
    expect(() => parseJsonText("  \n")).toThrow(/^empty/);
    expect(() => parseJsonText('{\n"a": ')).toThrow(/^line 2, column 6: Unexpected end/);
  });
});
