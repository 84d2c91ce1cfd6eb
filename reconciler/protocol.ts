// The control protocol: newline-delimited JSON over an AF_UNIX stream socket (docs/protocol.md).
// One request per line; zero or more `event` lines for the same id, then exactly one `result` or `error` line.

export interface Request {
  id: number | string;
  method: string;
  params?: Record<string, unknown>;
}

export interface ErrorBody {
  code: string;
  message: string;
  data?: unknown;
}

export type Reply =
  | { id: Request['id'] | null; result: unknown }
  | { id: Request['id'] | null; error: ErrorBody }
  | { id: Request['id']; event: unknown };

/** Largest request line the core reads; longer ones get ETOOBIG and the connection is closed. */
export const MAX_REQUEST = 1 << 20;

/** An error with a stable code that the control server turns into an error reply, in one place. */
export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}
