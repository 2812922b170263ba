// One service per store: use cases keep their state (the active rule set, batched reads,
// live subscribers) beside the store they serve, and share it across requests.
import type { Store } from '../store/db.ts';

export function perStore<T>(create: (store: Store) => T): (store: Store) => T {
  const made = new WeakMap<Store, T>();
  return (store) => {
    let service = made.get(store);
    if (!service) {
      service = create(store);
      made.set(store, service);
    }
    return service;
  };
}
