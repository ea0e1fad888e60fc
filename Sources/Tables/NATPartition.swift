/// How the SNAT sessions of one router are divided among workers (VPP NAT44-ED's per-thread
/// port ranges): every worker owns its own `SessionTable` and a contiguous slice of the
/// router's port range, so no two workers ever write the same state.
///
/// - A packet from inside belongs to the worker chosen by the high bits of its in2out hash
///   (`owner(in2outHash:)`), which creates its session with a port from its own slice.
/// - A packet from outside belongs to the worker whose slice holds its destination port
///   (`owner(port:)`), which is the worker that created the session.
///
/// A router whose range has fewer ports than there are workers uses only as many workers
/// as it has ports. Pure value; any thread.
@frozen
public struct NATPartition: Sendable, Equatable {
  public let portLow: UInt16
  public let portHigh: UInt16
  /// Ports per slice; the last slice also takes the remainder.
  public let width: UInt32
  /// Workers in use for this range: min(workers, ports in the range).
  public let workers: Int

  @inlinable
  public init(portLow: UInt16, portHigh: UInt16, workers: Int) {
    self.portLow = portLow
    self.portHigh = portHigh
    let ports = UInt32(portHigh &- portLow) &+ 1
    let w = Swift.max(1, Swift.min(workers, Int(ports)))
    self.workers = w
    width = ports / UInt32(w)
  }

  /// The worker that owns an inside flow whose in2out key hashes to `hash`. Uses the high
  /// bits: the table's home bucket comes from the low ones, so each worker's table still
  /// spreads its keys over all its buckets.
  @inlinable @inline(__always)
  public func owner(in2outHash hash: UInt32) -> Int { Int((UInt64(hash) &* UInt64(workers)) >> 32) }

  /// The worker whose slice holds external port `port`; a port outside the range (no session
  /// can have it) belongs to `fallback`.
  @inlinable @inline(__always)
  public func owner(port: UInt16, fallback: Int) -> Int {
    guard port >= portLow, port <= portHigh else { return fallback }
    return Swift.min(Int(UInt32(port &- portLow) / width), workers &- 1)
  }

  /// The ports worker `w` allocates from (w < workers).
  @inlinable
  public func slice(_ w: Int) -> (low: UInt16, high: UInt16) {
    let low = portLow &+ UInt16(truncatingIfNeeded: UInt32(w) &* width)
    let high = w == workers &- 1 ? portHigh : low &+ UInt16(truncatingIfNeeded: width &- 1)
    return (low, high)
  }
}
