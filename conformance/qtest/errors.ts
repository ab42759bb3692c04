// Errors of the qtest client. Every one names the command it belongs to, so a failing
// conformance test says which access went wrong, not just that something did.

/** Base class: anything that went wrong between us and the device's qtest endpoint. */
export class QtestError extends Error {
  override name = 'QtestError';
}

/** The device answered `FAIL …` or `ERR …`: the command was understood and refused. */
export class QtestReplyError extends QtestError {
  override name = 'QtestReplyError';
  constructor(
    readonly command: string,
    readonly reply: string,
  ) {
    super(`qtest command '${command}' failed: ${reply}`);
  }
}

/** No reply came in time; the connection is unusable afterwards (replies would be out of step). */
export class QtestTimeoutError extends QtestError {
  override name = 'QtestTimeoutError';
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`qtest command '${command}': no reply within ${timeoutMs} ms (device hung?)`);
  }
}

/** The device sent something that is not a qtest reply, or a reply we cannot parse. */
export class QtestProtocolError extends QtestError {
  override name = 'QtestProtocolError';
  constructor(
    readonly command: string | undefined,
    readonly reply: string,
    detail: string,
  ) {
    super(
      command === undefined
        ? `qtest: ${detail}: '${clip(reply)}'`
        : `qtest command '${clip(command)}': ${detail}: '${clip(reply)}'`,
    );
  }
}

/**
 * The connection closed (or was closed by us) while commands were outstanding or afterwards.
 * `bySuite`: the suite's own side cut it (the process that had started the device died), so it
 * says nothing about the device.
 */
export class QtestClosedError extends QtestError {
  override name = 'QtestClosedError';
  constructor(
    readonly command: string | undefined,
    readonly detail: string,
    readonly bySuite = false,
  ) {
    super(
      command === undefined
        ? `qtest connection closed: ${detail}`
        : `qtest command '${clip(command)}': connection closed: ${detail}`,
    );
  }
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
