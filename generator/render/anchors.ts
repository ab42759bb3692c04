// The permanent anchors of the spec document. Statement IDs are anchors as they are
// (`#dev.attach.reserved`); constants keep their spec name (`#VIRTIO_IOMMU_S_INVAL`); structs
// and their fields take a `struct.` prefix. Section slugs never hold a dot or a capital, so
// none of these can clash with a heading's anchor.

export const statementAnchor = (id: string): string => id;

/** A scenario's anchor is its ID in the model: `dev.attach.reserved#1`. */
export const scenarioAnchor = (id: string): string => id;

export const constantAnchor = (name: string): string => name;

export const structAnchor = (name: string): string => `struct.${name}`;

export const fieldAnchor = (struct: string, field: string): string => `struct.${struct}.${field}`;

/** The anchor of the coverage summary at the end of the document. */
export const COVERAGE_ANCHOR = 'coverage';

/** A link to an anchor of a page (`''` for this page); `#` inside an anchor is escaped. */
export function hrefTo(anchor: string, page = ''): string {
  return `${page}#${encodeURIComponent(anchor)}`;
}
