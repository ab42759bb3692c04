// An in-process test driver: qtest lines straight into a board (no socket), plus the PCI and
// virtio-pci steps the tests repeat. Synchronous, so tests read like a script.

import { VIRTIO_PCI_COMMON_CFG, type CommonCfgFieldName } from '../../../dist/ts/index.js';
import { loadBoardDescription } from '../../board/description.js';
import { createBoard, type Board, type IommuModelFactory } from '../../board/board.js';
import type { HostClock } from '../../platform/virtual-clock.js';
import { executeCommandLine } from '../../qtest/dispatch.js';
import { echoIommuFactory, type EchoIommu } from './echo-device.js';

export const IOMMU_SLOT = 1;
export const EDU_SLOT = 2;
/** Where the tests place the BARs. */
export const VIRTIO_BAR = 0xe0000000n;
export const EDU_BAR = 0xe1000000n;

/** Each common configuration field's offset, by name (struct virtio_pci_common_cfg). */
export const CC = Object.fromEntries(
  Object.entries(VIRTIO_PCI_COMMON_CFG).map(([name, field]) => [name, field.offset]),
) as Readonly<Record<CommonCfgFieldName, number>>;
export const ISR = 0x1000n;
export const DEVICE_CFG = 0x2000n;
export const NOTIFY = 0x3000n;

export class TestDriver {
  readonly board: Board;
  readonly models: EchoIommu[] = [];

  /** The echo device by default (`models` holds it); pass a factory for another model. */
  constructor(boardName = 'q35', hostClock?: HostClock, iommuModel?: IommuModelFactory) {
    this.board = createBoard(loadBoardDescription(boardName), {
      iommuModel: iommuModel ?? echoIommuFactory(this.models),
      ...(hostClock && { hostClock }),
    });
  }

  get model(): EchoIommu {
    return this.models[0]!;
  }

  /** The raw reply line. */
  cmd(line: string): string {
    return executeCommandLine(this.board, line);
  }

  /** The payload of an OK reply as a number (throws on anything else). */
  value(line: string): bigint {
    const reply = this.cmd(line);
    if (!reply.startsWith('OK 0x')) throw new Error(`${line} → ${reply}`);
    return BigInt(reply.slice(3));
  }

  ok(line: string): void {
    const reply = this.cmd(line);
    if (reply !== 'OK') throw new Error(`${line} → ${reply}`);
  }

  cfgRead(slot: number, offset: number, size: 1 | 2 | 4 = 4): number {
    this.ok(`outl 0xcf8 ${0x80000000 | (slot << 11) | (offset & 0xfc)}`);
    const suffix = { 1: 'b', 2: 'w', 4: 'l' }[size];
    return Number(this.value(`in${suffix} ${0xcfc + (offset & 3)}`));
  }

  cfgWrite(slot: number, offset: number, size: 1 | 2 | 4, value: number): void {
    this.ok(`outl 0xcf8 ${0x80000000 | (slot << 11) | (offset & 0xfc)}`);
    const suffix = { 1: 'b', 2: 'w', 4: 'l' }[size];
    this.ok(`out${suffix} ${0xcfc + (offset & 3)} ${value}`);
  }

  /** Places the virtio BAR 4 and edu BAR 0 and turns on memory decode and bus mastering. */
  assignBars(command = 0x6): void {
    this.cfgWrite(IOMMU_SLOT, 0x20, 4, Number(VIRTIO_BAR & 0xffffffffn));
    this.cfgWrite(IOMMU_SLOT, 0x24, 4, Number(VIRTIO_BAR >> 32n));
    this.cfgWrite(IOMMU_SLOT, 0x04, 2, command);
    this.cfgWrite(EDU_SLOT, 0x10, 4, Number(EDU_BAR));
    this.cfgWrite(EDU_SLOT, 0x04, 2, command);
  }

  read(offset: number | bigint, size: 1 | 2 | 4 | 8, base = VIRTIO_BAR): bigint {
    const suffix = { 1: 'b', 2: 'w', 4: 'l', 8: 'q' }[size];
    return this.value(`read${suffix} ${base + BigInt(offset)}`);
  }

  write(
    offset: number | bigint,
    size: 1 | 2 | 4 | 8,
    value: number | bigint,
    base = VIRTIO_BAR,
  ): void {
    const suffix = { 1: 'b', 2: 'w', 4: 'l', 8: 'q' }[size];
    this.ok(`write${suffix} ${base + BigInt(offset)} ${value}`);
  }

  /** Offers-and-accepts handshake; returns device_status after setting FEATURES_OK. */
  negotiate(low: number, high: number): number {
    this.write(CC.device_status, 1, 0);
    this.write(CC.device_status, 1, 1);
    this.write(CC.device_status, 1, 3);
    this.write(CC.driver_feature_select, 4, 0);
    this.write(CC.driver_feature, 4, low);
    this.write(CC.driver_feature_select, 4, 1);
    this.write(CC.driver_feature, 4, high);
    this.write(CC.device_status, 1, 0xb);
    return Number(this.read(CC.device_status, 1));
  }

  findingMessages(): string[] {
    return this.board.findings.entries.map((f) => f.message);
  }
}

/** A host clock the test moves by hand. */
export function manualHostClock(): HostClock & { advance(ns: bigint): void } {
  let now = 0n;
  return Object.assign(() => now, { advance: (ns: bigint) => void (now += ns) });
}
