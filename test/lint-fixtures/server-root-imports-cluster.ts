// lint-as: src/server/service.ts
// expect: clean
import { ClusterNode } from './cluster/cluster-node.js';

export const node = ClusterNode;
