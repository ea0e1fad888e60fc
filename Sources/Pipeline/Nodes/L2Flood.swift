import Buffers
import IO
import Wire

/// `l2-flood`: sends broadcast, multicast and unknown-unicast frames to every other
/// local port of their bridge domain and, by head-end replication, to every tunnel that
/// carries the network (the nodes with ports on it, as l2population programs them), and
/// nowhere else: a frame never leaves its network. A frame that came out of a tunnel is
/// flooded to local ports only (split horizon).
///
/// Each extra target gets a copy in a fresh native buffer; the last target gets the
/// original. Copies are transmitted directly, one port at a time. BUM traffic is a small
/// share of packets (ARP, DHCP), so this node favours simplicity over batching.
/// Drops: `l2-flood-no-members` (no other local port and no tunnel in the network),
/// `l2-flood-no-buffer` (a copy could not be made; that target misses the frame), and the
/// encapsulation drops of vxlan-encap for tunnel copies (`vxlan-mtu-exceeded`, …).
/// A copy for a port filtered by security groups or lists goes through `ACLFilter` first
/// (ARP passes; anything else but IPv4 is refused); a refused member is skipped and counted.
/// Terminal node (its packets leave through the ports or error-drop).
@frozen
public struct L2Flood {
  public static let id = NodeID.l2Flood
  /// Per flood member of the current frame: admitted (1) or not (0). Allocated once.
  @usableFromInline let admitted: UnsafeMutablePointer<UInt8>
  @usableFromInline let capacity: Int
  public init(maxPorts: Int = 1024) {
    capacity = maxPorts
    admitted = .allocate(capacity: max(maxPorts, 1))
  }
  public func destroy() { admitted.deallocate() }

  /// Does the member interface take this frame? (Unfiltered ones always do.)
  @inlinable @inline(__always)
  func admits(_ p: Packet, member: Int, _ env: GraphEnvironment, _ counters: NodeCounters) -> Bool {
    let acl = env.acl
    guard acl.policy(ofInterface: member) != 0 else { return true }
    let etherType = p.data.loadBE16(at: 12)
    if etherType == EtherType.arp { return true }
    guard etherType == EtherType.ipv4 else {
      counters.drop(Self.id, .aclNotIPv4)
      env.aclCounters.packet(interface: member, egress: false, denied: true)
      return false
    }
    let reason = ACLFilter.check(p.data, length: Int(p.length), l3: 14, egress: false, interface: member,
                                 acl: acl, ct: env.conntrack, now: env.now, counters: env.aclCounters)
    env.aclCounters.packet(interface: member, egress: false, denied: reason != nil)
    if let reason {
      counters.drop(Self.id, reason)
      return false
    }
    return true
  }

  @inlinable
  public func process(_ v: inout PacketVector, env: GraphEnvironment, counters: NodeCounters) {
    let floodStart = env.floodStart, floodMembers = env.floodMembers, overlay = env.overlay
    let underlay = overlay.underlayPort
    var kept = 0
    for i in 0..<v.count {
      let p = v.packets[i]
      let d = Int(p.context)
      let start = floodStart[d], end = floodStart[d &+ 1]
      let fromTunnel = underlay >= 0 && Int(p.inPort) == underlay
      let tunnelStart = fromTunnel ? 0 : overlay.floodStart[d], tunnelEnd = fromTunnel ? 0 : overlay.floodStart[d &+ 1]
      var lastLocal = -1
      for k in start..<end where floodMembers[k] != p.inPort {
        let ok = k &- start >= capacity || admits(p, member: Int(floodMembers[k]), env, counters)
        if k &- start < capacity { admitted[k &- start] = ok ? 1 : 0 }
        if ok { lastLocal = k }
      }
      if lastLocal < 0 && tunnelEnd == tunnelStart {
        counters.drop(Self.id, .l2FloodNoMembers)
        v.packets[kept] = p
        v.packets[kept].drop = DropReason.l2FloodNoMembers.rawValue
        v.next[kept] = NodeID.errorDrop.rawValue
        kept &+= 1
        continue
      }
      // The original goes to the last target: the last tunnel if any, else the last local port.
      for k in start..<end where floodMembers[k] != p.inPort && (k &- start >= capacity || admitted[k &- start] != 0) {
        if k == lastLocal && tunnelEnd == tunnelStart {
          var original = p
          transmit(&original, port: Int(floodMembers[k]), env)
        } else if var copy = duplicate(p, env, counters) {
          transmit(&copy, port: Int(floodMembers[k]), env)
        }
      }
      for t in tunnelStart..<tunnelEnd {
        var q: Packet
        if t == tunnelEnd &- 1 {
          q = p
        } else if let copy = duplicate(p, env, counters) {
          q = copy
        } else {
          continue
        }
        let tunnel = Int(overlay.floodTunnels[t])
        let bytes = Int(q.length)
        if let reason = VXLANEncap.encapsulate(&q, tunnel: tunnel, overlay: overlay) {
          counters.drop(Self.id, reason)
          env.releaser.release(q)
        } else {
          env.tunnelCounters.tx(tunnel, packets: 1, bytes: bytes)
          transmit(&q, port: underlay, env)
        }
      }
    }
    // Only packets bound for error-drop stay in the vector.
    v.count = kept
  }

  /// A copy of `p` in a buffer of the worker's pool, or nil (counted) when the pool is empty.
  @inlinable @inline(__always)
  func duplicate(_ p: Packet, _ env: GraphEnvironment, _ counters: NodeCounters) -> Packet? {
    guard let b = env.pool.alloc() else {
      counters.drop(Self.id, .l2FloodNoBuffer)
      return nil
    }
    let dst = b + env.pool.headroom
    dst.copyMemory(from: p.data, byteCount: Int(p.length))
    var copy = Packet(data: dst, buffer: b, length: p.length, inPort: p.inPort, flags: 0)
    copy.context = p.context
    return copy
  }

  @inlinable @inline(__always)
  func transmit(_ p: inout Packet, port: Int, _ env: GraphEnvironment) {
    _ = env.ports[port].tx(&p, count: 1, releaser: env.releaser, queue: env.queue)
  }
}

extension L2Flood: GraphNode {
  public static let next: [NodeID] = []
  public static let drops: [DropReason] = [.l2FloodNoMembers, .l2FloodNoBuffer, .vxlanMTUExceeded, .vxlanNextHopUnresolved, .vxlanNoHeadroom]
    + DropReason.ipv4Errors + DropReason.l4Errors + [.aclIngressDeny, .ctInvalid, .ctTableFull, .ctFragment, .aclNotIPv4]
}
