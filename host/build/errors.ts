// The one error type the build library throws when it rejects input (unknown board, bad app, compile
// errors, a module the board cannot run). `kind` lets callers and tests tell rejections apart; the
// message is written for the user and names the problem. May touch: nothing.
export type BuildErrorKind =
  | "unknown-board" | "invalid-board" | "invalid-app" | "compile"
  | "feature" | "memory" | "import" | "export" | "size" | "init";

export class BuildError extends Error {
  constructor(readonly kind: BuildErrorKind, message: string) {
    super(message);
    this.name = "BuildError";
  }
}
