/** inventory.yaml as BOOKS.md section 1 describes it. */
export interface InventoryDeployment {
  name: string;
  kind: string;
  vars?: Record<string, unknown>;
}
export interface InventoryGroup {
  name: string;
  vars?: Record<string, unknown>;
  deployments?: InventoryDeployment[];
}
export interface InventoryCluster {
  name: string;
  vars?: Record<string, unknown>;
  groups?: InventoryGroup[];
  deployments?: InventoryDeployment[];
}
export interface Inventory {
  clusters?: InventoryCluster[];
}
