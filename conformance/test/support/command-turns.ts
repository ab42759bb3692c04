// Test helper: records every command a QtestClient sends and how many of the recorded
// commands had been answered when it left. Commands sent with the same count left before any
// of their replies could be waited for: one round trip.

import type { QtestClient } from '../../qtest/client.js';

export interface SentCommand {
  line: string;
  repliesBefore: number;
}

export interface CommandRecorder {
  readonly sent: SentCommand[];
  /** How many round trips the recorded commands took: the distinct reply counts they left at. */
  turns(): number;
  /** Stops recording; the client sends as before. */
  stop(): void;
}

/**
 * Starts recording `qtest`'s commands. `rewrite` may change the payload a command's reply
 * hands back (to plant a device answer), given the command line.
 */
export function recordCommands(
  qtest: QtestClient,
  rewrite: (line: string, payload: string) => string = (_, payload) => payload,
): CommandRecorder {
  const sent: SentCommand[] = [];
  let replies = 0;
  const command = qtest.command.bind(qtest);
  qtest.command = (line) => {
    const text = typeof line === 'string' ? line : line.head;
    sent.push({ line: text, repliesBefore: replies });
    return command(line).then((payload) => {
      replies++;
      return rewrite(text, payload);
    });
  };
  return {
    sent,
    turns: () => new Set(sent.map((s) => s.repliesBefore)).size,
    stop: () => void delete (qtest as { command?: unknown }).command,
  };
}
