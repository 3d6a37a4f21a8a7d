// The inventory.yaml quick-start file (BOOKS.md section 1), after validation. Every level
// carries `vars` (an empty object when the file has none).

export interface Inventory {
  clusters: InventoryCluster[];
}

export interface InventoryCluster {
  name: string;
  vars: Record<string, unknown>;
  groups: InventoryGroup[];
}

export interface InventoryGroup {
  name: string;
  vars: Record<string, unknown>;
  deployments: InventoryDeployment[];
}

export interface InventoryDeployment {
  name: string;
  kind: string;
  vars: Record<string, unknown>;
}
