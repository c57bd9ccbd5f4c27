/** The store's one error class: opening, migrating, and the private files around the store. */
export class StoreError extends Error {
  override name = "StoreError";
}
