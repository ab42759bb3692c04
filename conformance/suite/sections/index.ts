// The hand-written tests, one file per spec section.

import type { SectionTests } from '../harness.js';
import * as attach from './attach-request.js';
import * as configuration from './device-configuration.js';
import * as deviceConfigReads from './device-config-reads.js';
import * as operations from './device-operations.js';
import * as effectsAccepted from './effects-accepted.js';
import * as effectsFeatures from './effects-features.js';
import * as effectsLayouts from './effects-layouts.js';
import * as effectsRefused from './effects-refused.js';
import * as effectsSystemReset from './effects-system-reset.js';
import * as faults from './fault-reporting.js';
import * as features from './feature-bits.js';
import * as map from './map-request.js';
import * as mappingCorners from './mapping-corners.js';
import * as pciBarAbove4g from './pci-bar-above-4g.js';
import * as pciCfgCap from './pci-cfg-cap.js';
import * as pciCfgCapWindow from './pci-cfg-cap-window.js';
import * as pciDiscovery from './pci-discovery.js';
import * as platform from './platform-self-check.js';
import * as platformRegisters from './platform-registers.js';
import * as probe from './probe-request.js';
import * as rangeEdges from './range-edges.js';
import * as resvMem from './property-resv-mem.js';
import * as resvMemEdges from './resv-mem-edges.js';
import * as requestFlags from './request-flags.js';
import * as requestIndirectPlacement from './request-indirect-placement.js';
import * as requestChainLimits from './request-chain-limits.js';
import * as requestLayouts from './request-layouts.js';
import * as requestRingsAtRamEnd from './request-rings-at-ram-end.js';
import * as transportCommonConfig from './transport-common-config.js';
import * as transportDescriptorTable from './transport-descriptor-table.js';
import * as transportDeviceStatus from './transport-device-status.js';
import * as transportFeatureWindows from './transport-feature-windows.js';
import * as transportNotifications from './transport-notifications.js';
import * as transportOfferedFeatures from './transport-offered-features.js';
import * as transportQueueReset from './transport-queue-reset.js';
import * as transportStrayAccesses from './transport-stray-accesses.js';
import * as transportVectorFields from './transport-vector-fields.js';
import * as unmap from './unmap-request.js';

export const SECTION_TESTS: ReadonlyArray<{ section: string; tests: SectionTests }> = [
  features,
  configuration,
  operations,
  attach,
  map,
  unmap,
  probe,
  resvMem,
  resvMemEdges,
  faults,
  effectsRefused,
  effectsAccepted,
  effectsFeatures,
  effectsLayouts,
  effectsSystemReset,
  mappingCorners,
  rangeEdges,
  requestLayouts,
  requestChainLimits,
  requestRingsAtRamEnd,
  requestFlags,
  requestIndirectPlacement,
  pciDiscovery,
  pciBarAbove4g,
  transportCommonConfig,
  transportFeatureWindows,
  transportDeviceStatus,
  transportNotifications,
  transportDescriptorTable,
  transportOfferedFeatures,
  transportQueueReset,
  transportVectorFields,
  transportStrayAccesses,
  deviceConfigReads,
  pciCfgCap,
  pciCfgCapWindow,
  platform,
  platformRegisters,
];
