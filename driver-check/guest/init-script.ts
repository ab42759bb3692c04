// The guest's /init: a busybox shell script that arms the probes, loads the virtio-iommu
// driver before the endpoint's (whose PCI probe waits for the IOMMU), runs the workload, and
// prints what was captured on the second serial port in sections that capture/guest-channel.ts
// reads. The workload makes the driver attach, map and unmap (disk reads and writes with
// O_DIRECT, so every block goes through the DMA API) and detach (the endpoint's PCI function is
// removed, which releases it from the IOMMU).

import { KPROBE_DEFINITIONS } from '../capture/guest-trace.js';

export type Mode = 'strict' | 'lazy' | 'passthrough';

export const MODES: readonly Mode[] = ['strict', 'lazy', 'passthrough'];

/** The kernel command line argument that selects each mode's default domain type. */
export const MODE_KERNEL_ARGUMENT: Record<Mode, string> = {
  strict: 'iommu.strict=1',
  lazy: 'iommu.strict=0',
  passthrough: 'iommu.passthrough=1',
};

/** Paths inside the initramfs. */
export const GUEST_MODULES = {
  iommu: '/lib/modules/virtio-iommu.ko',
  blk: '/lib/modules/virtio_blk.ko',
};

/** The PCI function of the virtio-blk endpoint (qemu/run-guest.ts puts it there). */
export const ENDPOINT_PCI = '0000:00:02.0';

/** The markers of the sections on the data port. */
export const SECTION = {
  features: '@@viommu features',
  ram: '@@viommu ram',
  trace: '@@viommu trace',
  end: '@@viommu end',
} as const;

/** What the guest prints on its console once the data port holds everything. */
export const DONE_MARKER = 'viommu-driver-check: workload done';

export function initScript(): string {
  const probes = KPROBE_DEFINITIONS.map(
    (d) => `echo '${d}' >> $T/kprobe_events || die "kprobe: ${d}"`,
  );
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
die() { echo "viommu-driver-check: $*"; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing || die 'no tracefs'
T=/sys/kernel/tracing
OUT=/dev/ttyS1
echo 32768 > $T/buffer_size_kb
${probes.join('\n')}
echo 1 > $T/events/viommu/enable
echo 1 > $T/tracing_on
phase() { echo "phase $1" > $T/trace_marker; }
phase load
insmod ${GUEST_MODULES.iommu} || die 'insmod virtio-iommu failed'
insmod ${GUEST_MODULES.blk} || die 'insmod virtio_blk failed'
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
[ -b /dev/vda ] || die 'no /dev/vda: the endpoint driver did not bind'
phase read
dd if=/dev/vda of=/dev/null bs=64k iflag=direct 2>/dev/null || die 'disk read failed'
phase write
dd if=/dev/vda of=/dev/vda bs=64k count=16 skip=16 oflag=direct 2>/dev/null || die 'disk write failed'
phase reread
dd if=/dev/vda of=/dev/null bs=4k count=256 iflag=direct 2>/dev/null || die 'disk reread failed'
sleep 0.2
phase teardown
echo 1 > /sys/bus/pci/devices/${ENDPOINT_PCI}/remove
sleep 0.2
phase end
echo 0 > $T/tracing_on
{
  echo '${SECTION.features}'
  for d in /sys/bus/virtio/devices/*; do
    [ "$(cat $d/device)" = 0x0017 ] && cat $d/features
  done
  echo '${SECTION.ram}'
  grep ': System RAM' /proc/iomem | grep -v '^ '
  echo '${SECTION.trace}'
  cat $T/trace
  echo '${SECTION.end}'
} > $OUT
echo '${DONE_MARKER}'
poweroff -f
`;
}
