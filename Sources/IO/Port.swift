import Buffers
import Wire

/// Errors from opening or configuring a port: what failed and why, for the operator.
public struct IOError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Counters of one port. A port's `CounterBlock` holds one region of `blockSize` counters
/// per TX queue; in each region: 0 rx packets, 1 rx bytes, 2 tx packets, 3 tx bytes,
/// 4 + r: drops with `DropReason(rawValue: r)`. TX queue q writes only region q; the
/// worker that polls the port writes the RX counters of region 0 (of a port several workers
/// poll, each its own first RX queue's region). Every counter has one writer; readers sum
/// the regions (`portTotal`).
public enum PortCounter {
  public static let rxPackets = 0
  public static let rxBytes = 1
  public static let txPackets = 2
  public static let txBytes = 3
  /// TSO/GSO super-frames received and segmented (their segments count as rx packets).
  public static let rxSuperFrames = 4
  /// Runs of such segments sent as one super-frame again (AF_PACKET; they count as tx packets).
  public static let txSuperFrames = 5
  /// Segments handed on from received super-frames (also in rx packets): the frames a port
  /// took from the kernel are rx packets − rx segments + rx super-frames.
  public static let rxSegments = 6
  public static let dropBase = 7
  public static let blockSize = 7 + 256
}

/// One packet port behind one burst interface (smoltcp `Device`, DPDK ethdev).
///
/// An enum of trivial payloads rather than a protocol existential: dispatch is a switch
/// per burst, no witness table, no boxing, no reference counting. Each payload is a handle
/// (pointers to state allocated when the port was opened).
///
/// Thread safety: `rx` and `tx` are called by the one worker that polls the port;
/// `close` by the control thread after that worker stopped. Counters may be read anywhere.
@frozen
public enum Port: @unchecked Sendable {
  case dpdk(DPDKPort)
  case afPacket(AFPacketPort)
  case pcapReplay(PcapReplayPort)
  case pcapWriter(PcapWriterPort)
  case memory(MemoryPort)

  /// Receives up to `min(max, v.freeSlots)` packets from RX queues `firstQueue`,
  /// `firstQueue + queueStep`, … (those the port has), appending them to `v` with `inPort`
  /// set. Returns how many were appended. Only DPDK ports have more than one RX queue; the
  /// others are read when `firstQueue` is 0.
  @inlinable
  public func rx(into v: inout PacketVector, max: Int, inPort: UInt16, firstQueue: Int = 0, queueStep: Int = 1,
                 pool: NativePool) -> Int {
    let room = Swift.min(max, v.freeSlots)
    if case .dpdk(let p) = self { return p.rx(into: &v, max: room, inPort: inPort, firstQueue: firstQueue, queueStep: queueStep) }
    guard firstQueue == 0 else { return 0 }
    switch self {
    case .dpdk: return 0
    case .afPacket(let p): return p.rx(into: &v, max: room, inPort: inPort, pool: pool)
    case .pcapReplay(let p): return p.rx(into: &v, max: room, inPort: inPort, pool: pool)
    case .pcapWriter: return 0
    case .memory(let p): return p.rx(into: &v, max: room, inPort: inPort, pool: pool)
    }
  }

  /// Transmits `count` packets on TX queue `queue` (the calling worker's index: each
  /// worker has its own queue on every port, so no two threads share one). The port takes
  /// ownership of every packet: it sends it, or releases its buffer and counts the drop
  /// with its reason. Returns how many were sent. Memory, pcap replay and pcap writer
  /// ports have one queue and are for single-worker use.
  @inlinable
  public func tx(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser, queue: Int = 0) -> Int {
    switch self {
    case .dpdk(let p): p.tx(packets, count: count, releaser: releaser, queue: queue)
    case .afPacket(let p): p.tx(packets, count: count, releaser: releaser, queue: queue)
    case .pcapReplay(let p): p.tx(packets, count: count, releaser: releaser)
    case .pcapWriter(let p): p.tx(packets, count: count, releaser: releaser)
    case .memory(let p): p.tx(packets, count: count, releaser: releaser)
    }
  }

  public var counters: CounterBlock {
    switch self {
    case .dpdk(let p): p.counters
    case .afPacket(let p): p.counters
    case .pcapReplay(let p): p.counters
    case .pcapWriter(let p): p.counters
    case .memory(let p): p.counters
    }
  }

  /// Backend name as operators see it.
  public var kind: String {
    switch self {
    case .dpdk: "dpdk"
    case .afPacket: "af-packet"
    case .pcapReplay: "pcap-replay"
    case .pcapWriter: "pcap-writer"
    case .memory: "memory"
    }
  }

  /// Reads drops that happened below the port (in the kernel) into its counters.
  /// Control thread, periodically.
  public func collectKernelDrops() {
    if case .afPacket(let p) = self { p.collectKernelDrops() }
  }

  /// A vhost-user port follows the queues its guest enabled (`DPDKPort.refreshVhostQueues`);
  /// nothing for other ports. Control thread, periodically.
  public func refreshQueues() {
    if case .dpdk(let p) = self { p.refreshVhostQueues() }
  }

  /// Releases the port's resources. Control thread, after its worker stopped.
  public func close() {
    switch self {
    case .dpdk(let p): p.close()
    case .afPacket(let p): p.close()
    case .pcapReplay(let p): p.close()
    case .pcapWriter(let p): p.close()
    case .memory(let p): p.close()
    }
  }
}

extension CounterBlock {
  /// Counts a drop of a port in the region of TX queue `queue` (see `PortCounter`).
  @inlinable @inline(__always)
  public func addDrop(_ r: DropReason, _ n: UInt64 = 1, queue: Int = 0) {
    add(queue &* PortCounter.blockSize &+ PortCounter.dropBase &+ Int(r.rawValue), n)
  }
  /// Adds to counter `i` in the region of TX queue `queue`.
  @inlinable @inline(__always)
  public func add(_ i: Int, _ n: UInt64, queue: Int) { add(queue &* PortCounter.blockSize &+ i, n) }
  /// Counts a received burst, in the region of `queue`: 0 for a port one worker polls, the
  /// worker's first RX queue for a shared one (so each region still has one writer).
  @inlinable @inline(__always)
  public func countRx(_ packets: Int, bytes: Int, queue: Int = 0) {
    add(PortCounter.rxPackets, UInt64(packets), queue: queue)
    add(PortCounter.rxBytes, UInt64(bytes), queue: queue)
  }
  /// Counts a transmitted burst on TX queue `queue`.
  @inlinable @inline(__always)
  public func countTx(_ packets: Int, bytes: Int, queue: Int = 0) {
    add(PortCounter.txPackets, UInt64(packets), queue: queue)
    add(PortCounter.txBytes, UInt64(bytes), queue: queue)
  }
  /// Counter `i` of a port, summed over its queues' regions.
  public func portTotal(_ i: Int) -> UInt64 {
    stride(from: 0, to: count, by: PortCounter.blockSize).reduce(0) { $0 &+ read($1 + i) }
  }
  public func drops(_ r: DropReason) -> UInt64 { portTotal(PortCounter.dropBase + Int(r.rawValue)) }
}
