// The device configuration of the virtio-iommu device, driver side: read whole at the widths
// virtio-pci asks for (32-bit words, then the bytes left) under the config_generation check,
// and written one field at a time at the place and width the generated field layouts give.

import {
  SIZEOF_VIRTIO_IOMMU_CONFIG,
  STRUCT_LAYOUTS,
  decodeConfig,
  type Config,
} from '../../dist/ts/index.js';
import type { DeviceConfigView } from '../virtio/device-config.js';
import type { VirtioPciTransport } from '../virtio/pci-transport.js';

const CONFIG_SIZE = SIZEOF_VIRTIO_IOMMU_CONFIG;
const CONFIG_WORDS = Math.floor(CONFIG_SIZE / 4) - 1;

/** The whole device configuration, decoded. */
export async function readDeviceConfig(transport: VirtioPciTransport): Promise<Config> {
  const bytes = await transport.readDeviceConfig(async (view) => {
    const image = new Uint8Array(CONFIG_SIZE);
    const data = new DataView(image.buffer);
    // Words and tail bytes in one pipeline.
    const [words, tail] = await Promise.all([
      Promise.all(Array.from({ length: CONFIG_WORDS }, (_, i) => view.read32(4 * i))),
      Promise.all(
        Array.from({ length: CONFIG_SIZE - 4 * CONFIG_WORDS }, (_, i) =>
          view.read8(4 * CONFIG_WORDS + i),
        ),
      ),
    ]);
    words.forEach((word, i) => data.setUint32(4 * i, word, true));
    image.set(tail, 4 * CONFIG_WORDS);
    return image;
  });
  return decodeConfig(bytes);
}

/** Writes the configuration field at dotted `path`: 1, 4 or 8 bytes (as two 32-bit halves). */
export async function writeConfigField(
  view: DeviceConfigView,
  path: string,
  value: bigint,
): Promise<void> {
  const { offset, size } = configFieldPlace(path);
  if (size === 1) await view.write8(offset, Number(value));
  else if (size === 4) await view.region.write32(offset, Number(value));
  else if (size === 8) {
    await view.region.write32(offset, Number(value & 0xffff_ffffn));
    await view.region.write32(offset + 4, Number(value >> 32n));
  } else throw new RangeError(`config field ${path}: no access of ${size} bytes`);
}

/** Where the configuration field at dotted `path` lies, from the generated field layouts. */
export function configFieldPlace(path: string): { offset: number; size: number } {
  const fields = STRUCT_LAYOUTS.virtio_iommu_config.fields;
  const field = Object.hasOwn(fields, path) ? fields[path] : undefined;
  if (field === undefined || field.bits !== undefined || /^struct |\[/.test(field.type)) {
    throw new RangeError(`virtio_iommu_config has no scalar field ${path}`);
  }
  return { offset: field.offset, size: field.size };
}
