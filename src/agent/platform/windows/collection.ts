/** Windows: what the investigation package (collect) holds (placeholder: not written yet). */
import { NotSupportedError, type CollectionSource } from '../types.js';

export async function systemInfo(): Promise<Record<string, unknown>> {
  throw new NotSupportedError('collect');
}

export async function collectionSources(): Promise<{ sources: CollectionSource[]; notes: string[] }> {
  throw new NotSupportedError('collect');
}

export async function loginRecords(): Promise<Record<string, unknown>[] | null> {
  throw new NotSupportedError('collect');
}
