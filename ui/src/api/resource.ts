// The resource envelope, event and list page of the API (ARCHITECTURE.md §4, §5), from src/api (types
// only: nothing of it reaches the bundle). The console reads the fields it knows and ignores the rest,
// so spec and status stay loosely typed here.
import type { StatusTriple as ApiStatusTriple } from '../../../src/api/common.ts';
import type { ListPage as ApiListPage } from '../../../src/api/inventory.ts';
import type { Resource as ApiResource, InventoryEvent as ApiEvent } from '../../../src/api/resource.ts';

type Loose = Record<string, any>;

export type StatusTriple = Partial<ApiStatusTriple>;
export type Resource = ApiResource<Loose, Loose>;
/** actor and at may be left out where the console makes events itself (tests). */
export type InventoryEvent = Omit<ApiEvent, 'object' | 'actor' | 'at'> & { object: Resource; actor?: string; at?: string };
export type ListPage = ApiListPage<Resource>;
