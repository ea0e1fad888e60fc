import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Quiescent-state-based reclamation (DPDK rte_rcu_qsbr, OVS ovsrcu).
///
/// Workers call `quiescent(worker:)` between bursts, when they hold no pointer into any
/// published table. A writer that replaced a table calls `synchronize()` before freeing
/// the old one; it returns once every online worker has passed a quiescent state after
/// the call began.
///
/// Thread safety: `quiescent`, `online` and `offline` for slot `w` are called only by
/// worker `w`; `synchronize` only by the control thread (never by a worker: it would
/// wait for itself).
public final class QSBR: @unchecked Sendable {
  @usableFromInline static let offlineMark = UInt64.max
  @usableFromInline let token = Atomic<UInt64>(1)
  /// One slot per worker, each on its own cache line so workers never share one.
  @usableFromInline let slots: UnsafeMutablePointer<Atomic<UInt64>>
  @usableFromInline static let stride = 8   // 8 × 8 bytes = 64
  public let workers: Int

  public init(workers: Int) {
    self.workers = workers
    slots = .allocate(capacity: workers * Self.stride)
    for i in 0..<(workers * Self.stride) { (slots + i).initialize(to: Atomic(Self.offlineMark)) }
  }
  deinit {
    slots.deinitialize(count: workers * Self.stride)
    slots.deallocate()
  }

  /// Reader side, once per burst: "I hold no reference taken before now".
  /// Later loads of shared tables must not move above the token load: load-acquire;
  /// earlier loads must complete before others see the new value: store-release.
  @inlinable @inline(__always)
  public func quiescent(worker: Int) {
    let t = token.load(ordering: .acquiring)
    let slot = slots + worker &* Self.stride
    if slot.pointee.load(ordering: .relaxed) != t {
      slot.pointee.store(t, ordering: .releasing)
    }
  }

  /// A worker that starts polling registers itself.
  public func online(worker: Int) {
    (slots + worker * Self.stride).pointee.store(token.load(ordering: .acquiring), ordering: .releasing)
  }
  /// An idle or stopping worker goes offline so that it does not stall writers.
  public func offline(worker: Int) {
    (slots + worker * Self.stride).pointee.store(Self.offlineMark, ordering: .releasing)
  }

  /// Writer side: waits until every online worker has been quiescent since this call.
  public func synchronize() {
    let target = token.add(1, ordering: .acquiringAndReleasing).newValue
    for w in 0..<workers {
      let slot = slots + w * Self.stride
      while true {
        let s = slot.pointee.load(ordering: .acquiring)
        if s == Self.offlineMark || s >= target { break }
        sched_yield()
      }
    }
  }
}
