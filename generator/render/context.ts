// What the remark and rehype plugins of the spec document share.

import type { SpecModel } from '../model.js';
import type { Coverage } from '../../conformance/report/coverage.js';
import type { NameLinks } from './name-links.js';

export interface RenderContext {
  model: SpecModel;
  coverage: Coverage;
  names: NameLinks;
  /** The matrix page, when there are reports to link to (`matrix.html`). */
  matrixHref?: string;
}
