// Layer: board.
// The reset control register of the ICH9 chipset at I/O port 0xcf9, as QEMU's q35 has it
// (hw/isa/lpc_ich9.c). A write with bit 2 (RST_CPU) set resets the whole system; any other
// write keeps bits 1 (SYS_RST) and 3 (FULL_RST). A read of any size returns those bits. A
// system reset clears the register.
//
// QEMU performs the reset once its main loop runs again, after the qtest command that asked
// for it and the rest of that chunk of commands; here it happens before the write's reply.
// A client that waits for the reset to show (COMMAND of a function reads 0 again) sees the
// same thing on both.

export const RESET_CONTROL_PORT = 0xcf9;
const RST_CPU = 0x4;
const KEPT_BITS = 0xa;

export class ResetControl {
  #value = 0;

  constructor(readonly systemReset: () => void) {}

  read(): number {
    return this.#value;
  }

  write(value: number): void {
    if ((value & RST_CPU) !== 0) this.systemReset();
    else this.#value = value & KEPT_BITS;
  }

  /** Part of the system reset. */
  reset(): void {
    this.#value = 0;
  }
}
