import Buffers
import Tables
import Wire

/// `ip4-lookup`: routes a validated packet in its router's VRF and rewrites it for the next
/// hop, DVR style: on the *source* node, straight to the destination VM's node.
///
/// Longest-prefix match (`LPM4`) in the VRF of the ingress router interface gives a FIB
/// entry (egress interface, gateway or connected); the neighbour table gives the next hop's
/// MAC and where it is (a local port or a tunnel). Then: egress MTU check (DF → ICMP
/// fragmentation needed with the next-hop MTU, RFC 1191; no DF → dropped, Gannet does not
/// fragment), TTL − 1 with an incremental checksum (RFC 1624, RFC 1812 §5.3.1), destination
/// MAC = next hop, source MAC = the egress gateway MAC for a local port or this node's DVR
/// host MAC for the overlay (so the underlay never sees a gateway MAC from many nodes).
///
/// A receive entry (the router's own address) sends the packet to ip4-local whatever its
/// TTL; a packet to be forwarded whose TTL would reach 0 gets time exceeded (RFC 1812 §5.3.1).
///
/// Peering (issue 16): the lookup table is the ingress interface's (its subnet's route
/// table); an entry that crosses an LPG looks the destination up again in the peer's table,
/// in the same pass, at most `RoutingTables.maxCrossings` times (`peering-loop` beyond).
///
/// Drops: `ip4-no-route` (ICMP net unreachable sent; also an address in a router's own CIDR
/// blocks on none of its subnets), `peering-down` (a route to an LPG that is not peered: ICMP
/// net unreachable), `peering-loop` (ICMP net unreachable), `ip4-ttl-expired` (ICMP time exceeded
/// sent), `ip4-neighbor-unknown` (ICMP host unreachable sent), `ip4-fragmentation-needed`
/// (ICMP sent), `ip4-fragmentation-unsupported`.
/// The default route of a router with an external gateway goes to ip4-external.
/// Next nodes: port-output (local port), vxlan-encap (remote node), ip4-local, ip4-external, icmp-error, error-drop.
@frozen
public struct IP4Lookup {
  public static let id = NodeID.ip4Lookup
  /// Scratch for batch lookups: destinations and results of one vector. Allocated once.
  @usableFromInline let addresses: UnsafeMutablePointer<UInt32>
  @usableFromInline let results: UnsafeMutablePointer<Int32>
  public init() {
    addresses = .allocate(capacity: PacketVector.capacity)
    results = .allocate(capacity: PacketVector.capacity)
  }
  public func destroy() {
    addresses.deallocate()
    results.deallocate()
  }

  @inlinable
  public func process(_ v: inout PacketVector, routing: RoutingTables, counters: NodeCounters, hits: CounterBlock, fibHitBase: Int,
                      neighborHitBase: Int) {
    // One batch LPM lookup for the vector when all its packets are in one VRF (the usual
    // case: a vector comes from one port), so that their table loads overlap.
    let n = v.count
    let table0 = routing.interfaces[Int(v.packets[0].context)].table
    var oneTable = true
    for i in 0..<n {
      let p = v.packets[i]
      addresses[i] = p.data.loadBE32(at: EthernetHeader.minimumLength &+ 16)
      if routing.interfaces[Int(p.context)].table != table0 { oneTable = false }
    }
    if oneTable {
      routing.vrfs[Int(table0)].lookup(addresses, count: n, into: results)
    } else {
      for i in 0..<n {
        results[i] = Int32(truncatingIfNeeded: routing.vrfs[Int(routing.interfaces[Int(v.packets[i].context)].table)].lookup(addresses[i]))
      }
    }
    for i in 0..<n {
      let p = v.packets[i]
      let ip = IPv4Header(unchecked: p.data + EthernetHeader.minimumLength)
      let destination = addresses[i]
      var fib = Int(results[i])
      if fib < 0 {
        counters.drop(Self.id, .ip4NoRoute)
        v.sendICMPError(i, ICMPError.parameters(type: ICMPv4Header.MessageType.destinationUnreachable, code: 0))
        continue
      }
      // The FIB entry's hits (dump-flows): this worker's own counters in the snapshot.
      hits.add(fibHitBase &+ fib &* 2, 1)
      hits.add(fibHitBase &+ fib &* 2 &+ 1, UInt64(p.length))
      var target = routing.fibInterface[fib]
      if target >= RoutingTables.firstSpecial {
        if target == RoutingTables.external {     // forwarded, so the TTL is checked too
          guard ip.ttl > 1 else {
            counters.drop(Self.id, .ip4TTLExpired)
            v.sendICMPError(i, ICMPError.parameters(type: ICMPv4Header.MessageType.timeExceeded, code: 0))
            continue
          }
          v.next[i] = NodeID.ip4External.rawValue   // context stays the ingress router interface
          continue
        }
        if target == RoutingTables.receive {      // the router's own address, whatever the TTL
          v.next[i] = NodeID.ip4Local.rawValue      // context stays the ingress router interface
          continue
        }
        // A peering crossing, a local address on no subnet, a peering that is down.
        fib = Self.special(&v, i, routing, fib, destination, hits, fibHitBase, counters)
        if fib < 0 { continue }
        target = routing.fibInterface[fib]
      }
      guard ip.ttl > 1 else {
        counters.drop(Self.id, .ip4TTLExpired)
        v.sendICMPError(i, ICMPError.parameters(type: ICMPv4Header.MessageType.timeExceeded, code: 0))
        continue
      }
      let egressIndex = Int(target)
      let egress = routing.interfaces[egressIndex]
      // An adjacency entry carries its neighbour; other routes look the next hop up.
      var n = routing.fibNeighbor[fib]
      if n == 0 {
        let gateway = routing.fibGateway[fib]
        let slot = routing.neighbors.slot(of: RoutingTables.neighborKey(domain: egress.domain, ip: gateway == 0 ? destination : gateway))
        guard slot >= 0 else {
          counters.drop(Self.id, .ip4NeighborUnknown)
          v.sendICMPError(i, ICMPError.parameters(type: ICMPv4Header.MessageType.destinationUnreachable, code: 1))
          continue
        }
        hits.add(neighborHitBase &+ slot &* 2, 1)
        hits.add(neighborHitBase &+ slot &* 2 &+ 1, UInt64(p.length))
        n = routing.neighbors.value(atSlot: slot)
      }
      if Int(ip.totalLength) > egress.mtu {
        v.refuseTooBig(i, dontFragment: ip.dontFragment, mtu: egress.mtu, node: Self.id, counters: counters)
        continue
      }
      ip.decrementTTL()
      let tunnel = n & RoutingTables.neighborTunnel != 0
      p.data.storeMAC(MACAddress(rawValue: n), at: 0)
      p.data.storeMAC(tunnel ? routing.localDVRMAC : egress.mac, at: 6)
      v.packets[i].context = UInt32(egress.domain)
      v.packets[i].outPort = UInt16(truncatingIfNeeded: (n >> 48) & 0x3fff)
      v.next[i] = tunnel ? NodeID.vxlanEncap.rawValue
        : n & RoutingTables.neighborFiltered != 0 ? NodeID.aclIngress.rawValue : NodeID.portOutput.rawValue
    }
  }

  /// The FIB entries other than an interface, the external network and a receive entry
  /// (kept out of line: most packets meet none): follows a peering crossing, in this pass
  /// (one TTL decrement in all), and returns the entry it ends on, an interface's; or
  /// finishes the packet (ip4-local, or a drop with ICMP net unreachable) and returns -1.
  @usableFromInline @inline(never)
  static func special(_ v: inout PacketVector, _ i: Int, _ routing: RoutingTables, _ fib: Int, _ destination: UInt32, _ hits: CounterBlock,
                      _ fibHitBase: Int, _ counters: NodeCounters) -> Int {
    var fib = fib, target = routing.fibInterface[fib]
    if target == RoutingTables.crossing {
      fib = routing.crossPeerings(from: fib, destination: destination, length: Int(v.packets[i].length), hits: hits, fibHitBase: fibHitBase)
      target = fib < 0 ? (fib == -2 ? RoutingTables.crossing : RoutingTables.unreachable) : routing.fibInterface[fib]
      if target == RoutingTables.receive {
        v.next[i] = NodeID.ip4Local.rawValue
        return -1
      }
    }
    guard target >= RoutingTables.firstSpecial else { return fib }
    // Still special: no route, a peering down, or a loop (the chain never left the crossings).
    counters.drop(Self.id, target == RoutingTables.peeringDown ? .peeringDown : target == RoutingTables.crossing ? .peeringLoop : .ip4NoRoute)
    v.sendICMPError(i, ICMPError.parameters(type: ICMPv4Header.MessageType.destinationUnreachable, code: 0))
    return -1
  }
}

extension IP4Lookup: GraphNode {
  public static let next: [NodeID] = [.ip4Local, .ip4External, .icmpError, .vxlanEncap, .aclIngress, .portOutput]
  public static let drops: [DropReason] = DropReason.tooBig + [.ip4NoRoute, .ip4NeighborUnknown, .ip4TTLExpired, .peeringDown,
                                                                .peeringLoop]
}
