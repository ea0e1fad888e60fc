import Buffers
import Wire

/// Errors from opening or configuring a port: what failed and why, for the operator.
public struct IOError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Counters of one port. Index layout of the `CounterBlock`:
/// 0 rx packets, 1 rx bytes, 2 tx packets, 3 tx bytes, 4 + r: drops with `DropReason(rawValue: r)`.
public enum PortCounter {
  public static let rxPackets = 0
  public static let rxBytes = 1
  public static let txPackets = 2
  public static let txBytes = 3
  public static let dropBase = 4
  public static let blockSize = 4 + 256
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

  /// Receives up to `min(max, v.freeSlots)` packets, appending them to `v` with `inPort`
  /// set. Returns how many were appended.
  @inlinable
  public func rx(into v: inout PacketVector, max: Int, inPort: UInt16, pool: NativePool) -> Int {
    let room = Swift.min(max, v.freeSlots)
    switch self {
    case .dpdk(let p): return p.rx(into: &v, max: room, inPort: inPort)
    case .afPacket(let p): return p.rx(into: &v, max: room, inPort: inPort, pool: pool)
    case .pcapReplay(let p): return p.rx(into: &v, max: room, inPort: inPort, pool: pool)
    case .pcapWriter: return 0
    case .memory(let p): return p.rx(into: &v, max: room, inPort: inPort, pool: pool)
    }
  }

  /// Transmits `count` packets. The port takes ownership of every one of them: it sends
  /// it, or releases its buffer and counts the drop with its reason. Returns how many
  /// were sent.
  @inlinable
  public func tx(_ packets: UnsafeMutablePointer<Packet>, count: Int, releaser: BufferReleaser) -> Int {
    switch self {
    case .dpdk(let p): p.tx(packets, count: count, releaser: releaser)
    case .afPacket(let p): p.tx(packets, count: count, releaser: releaser)
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
  /// Counts a drop of a port (see `PortCounter`).
  @inlinable @inline(__always)
  public func addDrop(_ r: DropReason, _ n: UInt64 = 1) { add(PortCounter.dropBase &+ Int(r.rawValue), n) }
  public func drops(_ r: DropReason) -> UInt64 { read(PortCounter.dropBase + Int(r.rawValue)) }
}
