import Synchronization

/// A published, immutable snapshot that workers read without locks or reference counting.
///
/// Writers are serialized by `writer`; readers never take it. The reader gets an
/// unretained reference that stays valid until its next `QSBR.quiescent`; the writer
/// publishes with a release store, waits for a grace period, then drops the old snapshot
/// (and calls `retire` on it, where a snapshot frees memory it manages by hand).
///
/// Thread safety: `current` on workers; `update` on the control thread only.
public final class RCUBox<Snapshot: AnyObject & Sendable>: @unchecked Sendable {
  /// The bit pattern of an `Unmanaged<Snapshot>` holding one +1 reference.
  @usableFromInline let published: Atomic<UInt>
  private let writer = Mutex<Void>(())
  public let qsbr: QSBR
  private let retire: @Sendable (Snapshot) -> Void

  public init(_ initial: Snapshot, qsbr: QSBR, retire: @escaping @Sendable (Snapshot) -> Void = { _ in }) {
    self.qsbr = qsbr
    self.retire = retire
    published = Atomic(UInt(bitPattern: Unmanaged.passRetained(initial).toOpaque()))
  }

  deinit {
    let u = Unmanaged<Snapshot>.fromOpaque(UnsafeRawPointer(bitPattern: published.load(ordering: .acquiring))!)
    retire(u.takeUnretainedValue())
    u.release()
  }

  /// Worker side: the current snapshot, unretained. It must not escape past the
  /// worker's next quiescent state.
  @inlinable @inline(__always)
  public var current: Unmanaged<Snapshot> {
    Unmanaged<Snapshot>.fromOpaque(UnsafeRawPointer(bitPattern: published.load(ordering: .acquiring)).unsafelyUnwrapped)
  }

  /// Control side: builds a new snapshot from the old one, publishes it, waits for every
  /// worker to move on, then retires the old one. `make` may throw; then nothing changes.
  @discardableResult
  public func update(_ make: (Snapshot) throws -> Snapshot) rethrows -> Snapshot {
    try writer.withLock { _ in
      let old = Unmanaged<Snapshot>.fromOpaque(UnsafeRawPointer(bitPattern: published.load(ordering: .acquiring))!)
      let new = try make(old.takeUnretainedValue())
      published.store(UInt(bitPattern: Unmanaged.passRetained(new).toOpaque()), ordering: .releasing)
      qsbr.synchronize()
      retire(old.takeUnretainedValue())
      old.release()
      return new
    }
  }

  /// Control side: the current snapshot, retained (for `show` commands).
  public func snapshot() -> Snapshot {
    writer.withLock { _ in current.takeUnretainedValue() }
  }
}
