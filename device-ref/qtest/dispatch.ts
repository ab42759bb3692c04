// Layer: qtest.
// One qtest command line in, one reply line out. Words are split on single spaces exactly as
// QEMU's g_strsplit(line, " ") does (so "  x" names the command '' and a tab is part of a
// word), the first word picks the command, extra words are ignored. Whatever the line, the
// answer is a reply: QEMU's where QEMU answers, FAIL where QEMU would abort.

import { CommandArguments, CommandError } from './arguments.js';
import { clockSet, clockStep } from './commands/clock.js';
import { replyText, type QtestCommand, type QtestReply } from './commands/command.js';
import { memset, readBase64, readHex, writeBase64, writeHex } from './commands/memory-bulk.js';
import { memoryReadWord, memoryWriteWord } from './commands/memory-word.js';
import { portIn, portOut } from './commands/port-io.js';
import type { QtestTarget } from './target.js';

const endianness: QtestCommand = {
  usage: 'endianness',
  run: (_args, target) => `OK ${target.endianness}`,
};

const COMMANDS = new Map<string, QtestCommand>([
  ['outb', portOut(1)],
  ['outw', portOut(2)],
  ['outl', portOut(4)],
  ['inb', portIn(1)],
  ['inw', portIn(2)],
  ['inl', portIn(4)],
  ['writeb', memoryWriteWord(1)],
  ['writew', memoryWriteWord(2)],
  ['writel', memoryWriteWord(4)],
  ['writeq', memoryWriteWord(8)],
  ['readb', memoryReadWord(1)],
  ['readw', memoryReadWord(2)],
  ['readl', memoryReadWord(4)],
  ['readq', memoryReadWord(8)],
  ['read', readHex],
  ['write', writeHex],
  ['b64read', readBase64],
  ['b64write', writeBase64],
  ['memset', memset],
  ['endianness', endianness],
  ['clock_step', clockStep],
  ['clock_set', clockSet],
]);

/**
 * The commands by the length of their name: the command a line names is found without
 * cutting the name out of the line (and hashing it) first.
 */
const BY_NAME_LENGTH: [string, QtestCommand][][] = [];
for (const entry of COMMANDS) (BY_NAME_LENGTH[entry[0].length] ??= []).push(entry);

/** The command whose name is the first `nameEnd` characters of `line`, if any. */
function commandNamed(line: string, nameEnd: number): QtestCommand | undefined {
  for (const [name, command] of BY_NAME_LENGTH[nameEnd] ?? []) {
    if (line.startsWith(name)) return command;
  }
  return undefined;
}

/** Executes one line (without its newline) and returns the reply line (without its newline). */
export function executeCommandLine(target: QtestTarget, line: string): string {
  return replyText(executeCommand(target, line));
}

/** Executes one line; a `read` or `b64read` reply comes as bytes, for a server to stream. */
export function executeCommand(target: QtestTarget, line: string): QtestReply {
  if (line === '') return 'FAIL Empty command line';
  const space = line.indexOf(' ');
  const nameEnd = space < 0 ? line.length : space;
  const command = commandNamed(line, nameEnd);
  if (command === undefined) return `FAIL Unknown command '${line.slice(0, nameEnd)}'`;
  try {
    target.syncTime();
    return command.run(new CommandArguments(line, nameEnd, command.usage), target);
  } catch (error) {
    if (error instanceof CommandError) return `FAIL ${error.message}`;
    // A bug in a device model must not take the server down: report it to the client.
    return `FAIL Internal error: ${error instanceof Error ? error.message : String(error)}`.replace(
      /\n/g,
      ' ',
    );
  }
}
