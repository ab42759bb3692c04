// Device statements no black-box test over qtest can check, each with the reason. Keep it short:
// a statement leaves this list as soon as some test can judge it.

export const UNTESTED: Readonly<Record<string, string>> = {
  'dev.attach.compatible':
    'which endpoint properties are compatible is known to the device alone; no board exposes two endpoints it declares compatible or not',
  'dev.attach.incompatible':
    'which endpoint properties are incompatible is known to the device alone; no board exposes two incompatible endpoints',
  'dev.resv-mem.contained':
    'the effect of an access to a RESV_MEM region (an MSI doorbell) on other components is not visible over qtest',
  'dev.fault.older-format':
    'this version of the spec defines no older fault format, so no report can be recognised as one',
};
