/**
 * The shared store in this process's memory: for one instance.
 */
export { MemoryStore, type MemoryStoreOptions } from './memoryStore';
