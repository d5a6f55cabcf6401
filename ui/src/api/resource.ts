// The resource envelope and event as the console sees them (ARCHITECTURE.md §4, §5). The console
// reads fields it knows and ignores the rest, so spec and status stay loosely typed.

export interface StatusTriple {
  message?: string;
  indicator?: 'unspecified' | 'idle' | 'in_progress' | 'error';
  timestamp?: string;
}

export interface Resource {
  kind: string;
  id: string;
  project: string;
  name: string;
  labels: Record<string, string>;
  revision: number;
  generation: number;
  createdAt: string;
  updatedAt: string;
  spec: Record<string, any>;
  status: Record<string, any>;
}

export interface InventoryEvent {
  type: 'CREATED' | 'UPDATED' | 'DELETED';
  revision: number;
  kind: string;
  id: string;
  project: string;
  object: Resource;
  actor?: string;
  at?: string;
}

export interface ListPage {
  items: Resource[];
  revision: number;
  nextPageToken?: string;
  totalSize: number;
}
