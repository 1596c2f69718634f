/**
 * The facts probes share, one set per collector: a probe publishes what it learned
 * (dns: the name an address was resolved from) and others look it up through their
 * host, without importing each other. Every table is bounded and its entries expire.
 */
import type { SharedFacts } from '../plugin/types';
import { ExpiringTable, monotonicMs } from './expiring-table';

/** Addresses with a remembered name; at ~150 bytes an entry, about 10 MiB when full. */
export const ADDRESS_NAMES_CAPACITY = 65_536;

export function createSharedFacts(options: { addressNames?: number; now?: () => number } = {}): SharedFacts {
  return {
    addressNames: new ExpiringTable<string, string>(options.addressNames ?? ADDRESS_NAMES_CAPACITY, options.now ?? monotonicMs),
  };
}
