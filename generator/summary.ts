// A short account of a model, for `viommu build`.

import type { SpecModel } from './model.js';
import { LEVELS } from './model-facts.js';

export function summarize(model: SpecModel): string {
  const scenarios = model.statements.reduce((n, s) => n + s.scenarios.length, 0);
  const withScenario = model.statements.filter((s) => s.scenarios.length > 0).length;
  const lines = [
    `${model.title} (device ID ${model.deviceId}), model ${model.version}${model.specVersion ? `, version ${model.specVersion} (${model.layout} layout)` : ''}`,
    `  ${model.structs.length} structs, ${model.constants.length} constants in ${model.groups.length} groups, ${model.virtqueues.length} virtqueues`,
  ];
  for (const role of ['device', 'driver'] as const) {
    const mine = model.statements.filter((s) => s.role === role);
    const byLevel = LEVELS.map((l) => `${mine.filter((s) => s.level === l).length} ${l}`).join(
      ', ',
    );
    lines.push(`  ${mine.length} ${role} statements: ${byLevel}`);
  }
  lines.push(`  ${scenarios} scenarios on ${withScenario} statements`);
  for (const d of model.drafts ?? []) {
    const mine = model.statements.filter((s) => s.draft === d.name);
    const devices = mine.filter((s) => s.role === 'device').length;
    lines.push(
      `  draft ${d.name} (needs ${d.feature}): ${devices} device, ${mine.length - devices} driver statements`,
    );
  }
  return lines.join('\n');
}
