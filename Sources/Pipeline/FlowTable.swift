import Buffers
import IO
import Wire

/// One compiled operator flow (`OperatorFlow`): masks and ranges a frame is compared with,
/// and what to do. A field that matches anything has a zero mask or the full range.
@frozen
public struct FlowEntry: Sendable, Equatable {
  public static let drop: UInt8 = 0, pass: UInt8 = 1, mirror: UInt8 = 2, redirect: UInt8 = 3
  public var sourceMAC: UInt64 = 0, sourceMACMask: UInt64 = 0
  public var destinationMAC: UInt64 = 0, destinationMACMask: UInt64 = 0
  /// 0: any EtherType (of the frame after its VLAN tag, if any).
  public var etherType: UInt16 = 0
  /// 0xffff: any, tagged or not.
  public var vlan: UInt16 = 0xffff
  /// IPv4 fields: the frame must be IPv4 when `ip` is set.
  public var ip = false
  public var source: UInt32 = 0, sourceMask: UInt32 = 0
  public var destination: UInt32 = 0, destinationMask: UInt32 = 0
  /// 0xffff: any protocol.
  public var proto: UInt16 = 0xffff
  public var l4 = false
  public var sourcePortLow: UInt16 = 0, sourcePortHigh: UInt16 = 0xffff
  public var destinationPortLow: UInt16 = 0, destinationPortHigh: UInt16 = 0xffff
  public var action: UInt8 = FlowEntry.pass
  /// mirror, redirect: the interface frames go out of.
  public var target: UInt16 = 0
  /// The flow's stable number: its hit counters are [2n] packets, [2n + 1] bytes.
  public var counter: UInt16 = 0
  public init() {}

  /// Does the frame (`length` bytes at `f`) match?
  func matches(_ f: UnsafeMutableRawPointer, length: Int) -> Bool {
    guard length >= 14 else { return false }
    let dst = UInt64(f.loadBE16(at: 0)) << 32 | UInt64(f.loadBE32(at: 2))
    let src = UInt64(f.loadBE16(at: 6)) << 32 | UInt64(f.loadBE32(at: 8))
    guard dst & destinationMACMask == destinationMAC, src & sourceMACMask == sourceMAC else { return false }
    var type = f.loadBE16(at: 12), l3 = 14
    if type == EtherType.vlan {
      guard length >= 18 else { return false }
      if vlan != 0xffff && f.loadBE16(at: 14) & 0x0fff != vlan { return false }
      type = f.loadBE16(at: 16)
      l3 = 18
    } else if vlan != 0xffff {
      return false
    }
    if etherType != 0 && type != etherType { return false }
    guard ip else { return true }
    guard type == EtherType.ipv4, length >= l3 + 20 else { return false }
    guard f.loadBE32(at: l3 + 12) & sourceMask == source, f.loadBE32(at: l3 + 16) & destinationMask == destination else { return false }
    let p = f.loadU8(at: l3 + 9)
    if proto != 0xffff && UInt16(p) != proto { return false }
    guard l4 else { return true }
    let ihl = Int(f.loadU8(at: l3) & 0x0f) * 4
    // A non-first fragment has no ports: it matches no flow that names ports.
    guard f.loadBE16(at: l3 + 6) & 0x1fff == 0, length >= l3 + ihl + 4 else { return false }
    let sp = f.loadBE16(at: l3 + ihl), dp = f.loadBE16(at: l3 + ihl + 2)
    return sp >= sourcePortLow && sp <= sourcePortHigh && dp >= destinationPortLow && dp <= destinationPortHigh
  }
}

/// The operator flows of a snapshot, per interface in the order they are tried (priority,
/// then id): interface i's are `entries[start[i] ..< start[i + 1]]`.
///
/// Thread safety: immutable once built (control thread); workers read it.
@frozen
public struct FlowTables: @unchecked Sendable {
  /// The most flows a node holds (hit counter slots per worker).
  public static let maxFlows = 1024
  /// Interfaces with at least one flow; 0: none (one test per burst, nothing else).
  public let count: Int
  public let interfaces: Int
  public let start: UnsafeMutablePointer<Int32>
  public let entries: UnsafeMutablePointer<FlowEntry>

  /// `perInterface[i]`: interface i's flows in the order they are tried.
  public init(_ perInterface: [[FlowEntry]], interfaces: Int) {
    self.interfaces = interfaces
    start = .allocate(capacity: interfaces + 1)
    let flat = (0..<interfaces).flatMap { $0 < perInterface.count ? perInterface[$0] : [] }
    entries = .allocate(capacity: max(flat.count, 1))
    entries.initialize(from: flat, count: flat.count)
    var at: Int32 = 0
    var with = 0
    for i in 0..<interfaces {
      start[i] = at
      let n = i < perInterface.count ? perInterface[i].count : 0
      at += Int32(n)
      if n > 0 { with += 1 }
    }
    start[interfaces] = at
    count = with
  }

  public func destroy() {
    start.deallocate()
    entries.deallocate()
  }

  /// Does interface `i` have flows? Workers, once per burst.
  @inlinable public func has(_ i: Int) -> Bool { count > 0 && i < interfaces && start[i] != start[i &+ 1] }

  /// Applies interface `interface`'s flows to the burst just received into `v`, before the
  /// pipeline: drops and redirects leave the vector (released or sent), mirrors send a copy
  /// (a buffer of the worker's pool) and keep the frame, continue keeps it. Counts each
  /// flow's hits in `hits` (the worker's own) and drops under ethernet-input. Worker only.
  ///
  /// While a trace is on (`tapMode`), a marked packet that a flow matched gets a record
  /// (node `operator-flows`, the flow's number as its context, and the drop or the next node).
  @inline(never)
  public func apply(_ v: inout PacketVector, interface: Int, ports: UnsafeMutablePointer<Port>, portCount: Int, pool: NativePool,
                    releaser: BufferReleaser, queue: Int, hits: CounterBlock, counters: NodeCounters, tap: PacketTap, tapMode: UInt32,
                    generation: UInt64) {
    let first = Int(start[interface]), end = Int(start[interface + 1])
    var kept = 0
    for i in 0..<v.count {
      var p = v.packets[i]
      var keep = true
      for k in first..<end where entries[k].matches(p.data, length: Int(p.length)) {
        let e = entries[k]
        hits.add(Int(e.counter) * 2, 1)
        hits.add(Int(e.counter) * 2 + 1, UInt64(p.length))
        if tapMode & PacketTap.trace != 0 && p.flags & Packet.Flag.traced != 0 {
          tap.flowDecided(p, flow: e.counter, consumed: e.action == FlowEntry.drop || e.action == FlowEntry.redirect,
                          dropped: e.action == FlowEntry.drop, worker: queue, generation: generation)
        }
        switch e.action {
        case FlowEntry.drop:
          counters.drop(.ethernetInput, .operatorFlowDrop)
          releaser.release(p)
          keep = false
        case FlowEntry.redirect where Int(e.target) < portCount:
          _ = ports[Int(e.target)].tx(&p, count: 1, releaser: releaser, queue: queue)
          keep = false
        case FlowEntry.mirror where Int(e.target) < portCount:
          guard let buffer = pool.alloc() else {
            counters.drop(.ethernetInput, .operatorFlowNoBuffer)
            break
          }
          let data = buffer + NativePool.defaultHeadroom
          data.copyMemory(from: p.data, byteCount: Swift.min(Int(p.length), NativePool.defaultDataRoom))
          var copy = Packet(data: data, buffer: buffer, length: UInt32(Swift.min(Int(p.length), NativePool.defaultDataRoom)),
                            inPort: p.inPort, flags: 0)
          _ = ports[Int(e.target)].tx(&copy, count: 1, releaser: releaser, queue: queue)
        default: break
        }
        break
      }
      if keep {
        v.packets[kept] = p
        kept += 1
      }
    }
    v.count = kept
  }
}
