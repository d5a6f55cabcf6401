// The categories are defined once, in src/api (the server's /metrics counts hosts with the same code).
import { HOST_CATEGORY_LABELS, type HostCategory } from '../../../src/api/host-category.ts';

export { HOST_CATEGORIES, type HostCategory, hostCategory, isUnallocated } from '../../../src/api/host-category.ts';

/** The overview's tiles in words: the categories, and `unallocated` (no site), counted apart. */
export const CATEGORY_LABELS: Record<HostCategory | 'unallocated', string> = { ...HOST_CATEGORY_LABELS, unallocated: 'Unallocated' };
