// Layer: qtest.
// What the qtest server drives: a machine seen from its CPU. The board implements it; the
// qtest code never needs to know more about boards than this.

export type PortSize = 1 | 2 | 4;

/** A guest-physical address: a number or a bigint (see U64 in c-number.ts: below 2^52 it is a number). */
export type GuestAddress = number | bigint;

export interface QtestTarget {
  readonly endianness: 'little' | 'big';
  /** Called before every command: lets virtual time catch up and due timers fire. */
  syncTime(): void;
  portRead(port: number, size: PortSize): number;
  portWrite(port: number, size: PortSize, value: number): void;
  /** Whether every byte of the range is RAM or an enabled BAR. */
  memoryBacked(address: GuestAddress, length: number): boolean;
  /** Guest-physical read; undefined when some byte is neither RAM nor an enabled BAR. */
  memoryRead(address: GuestAddress, length: number): Uint8Array | undefined;
  /** Guest-physical write; false (and nothing written) when the range is not all backed. */
  memoryWrite(address: GuestAddress, data: Uint8Array): boolean;
  memoryFill(address: GuestAddress, length: bigint, byte: number): boolean;
  /** `clock_step [NS]`: returns the new virtual time in ns. */
  clockStep(ns?: bigint): bigint;
  /** `clock_set NS`: returns the new virtual time in ns. */
  clockSet(ns: bigint): bigint;
  /** The connection ended: nothing will access the target again (it may give up its RAM). */
  dispose?(): void;
}
