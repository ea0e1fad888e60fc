import Synchronization

/// A fixed array of 64-bit counters with one writer and any number of readers.
///
/// Thread safety: exactly one thread (the worker that owns the node or port) calls `add`;
/// any thread may call `read`. Updates are a relaxed load plus a relaxed store, not a
/// read-modify-write: a plain `add` to memory on x86-64, yet a reader never sees a torn
/// value (the OVS `pmd_perf_update_counter` idea). Allocated once by the control thread;
/// the handle is a pointer, copying it shares the counters.
@frozen
public struct CounterBlock: @unchecked Sendable {
  @usableFromInline let base: UnsafeMutablePointer<Atomic<UInt64>>
  public let count: Int

  public init(count: Int) {
    self.count = count
    base = .allocate(capacity: count)
    for i in 0..<count { (base + i).initialize(to: Atomic(0)) }
  }
  /// Frees the counters; only once no thread uses them any more.
  public func destroy() {
    base.deinitialize(count: count)
    base.deallocate()
  }

  @inlinable @inline(__always)
  public func add(_ i: Int, _ n: UInt64) {
    let v = base[i].load(ordering: .relaxed)
    base[i].store(v &+ n, ordering: .relaxed)
  }
  @inlinable public func read(_ i: Int) -> UInt64 { base[i].load(ordering: .relaxed) }
  /// Control side. Only safe while the writer is stopped (tests, restarts).
  public func reset() { for i in 0..<count { base[i].store(0, ordering: .relaxed) } }
}

