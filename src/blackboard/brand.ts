/**
 * @internal Brands that let the library recognise its own values across copies of the package.
 *
 * Two copies of the package can share a process (`npm link`, two versions in one tree, a CLI from one copy
 * loading a team written against another): a `MemoryStore` or a `VirtualClock` made by one copy reaches the
 * runtime of the other, and an error thrown by one copy's transport reaches the other's model client. Class
 * identity fails there (`instanceof` compares prototypes, and each copy has its own). A brand does not: a
 * property keyed by `Symbol.for('hearsay.<Name>')`, a symbol from the process-wide registry every copy
 * shares, set on the class's prototype; the class's `Symbol.hasInstance` checks it, so `instanceof` (in the
 * library and in users' code) holds for an instance of any copy.
 *
 * A brand names a contract between copies: the instance's own methods do the work (each copy calls them, it
 * never reads their private fields). Change a branded class's public shape incompatibly and rename its brand.
 */

/** The registry symbol of a brand: the same in every copy of the package. */
export const brandOf = (name: string): symbol => Symbol.for(`hearsay.${name}`);

/** Whether `value` carries the brand `symbol` (an instance of a branded class, made by any copy). */
export function hasBrand(value: unknown, symbol: symbol): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    (value as Record<symbol, unknown>)[symbol] === true
  );
}

/**
 * Brands `cls` as `hearsay.<name>`: its instances (and its subclasses', made by any copy of the package)
 * carry the brand, and `x instanceof cls` checks the brand. A user's subclass of it keeps the ordinary
 * `instanceof` (its instances are recognised as `cls`'s, not every `cls` as the subclass's).
 *
 * @example
 * export class MemoryStore implements Store { … }
 * brandClass(MemoryStore, 'MemoryStore');
 */
// biome-ignore lint/suspicious/noExplicitAny: any class, whatever its constructor takes
export function brandClass(cls: abstract new (...args: any[]) => object, name: string): void {
  const symbol = brandOf(name);
  Object.defineProperty(cls.prototype, symbol, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      // A subclass inherits this static method: for it, the ordinary prototype check.
      if (this !== cls) return Function.prototype[Symbol.hasInstance].call(this, value);
      return hasBrand(value, symbol);
    },
  });
}
