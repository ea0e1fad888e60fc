import Buffers
import CDPDKShim
import Tables
import Wire

/// `snat-in2out`: source NAT with port translation on the router's SNAT node (DOMAIN.md
/// path 6). Packets come from ip4-external (a VM on this node) or from l2-forward: frames
/// another node sent over the overlay to the router's SNAT port MAC (`context` = router
/// interface; the source node already routed them and decremented the TTL).
///
/// Connection tracking (`SessionTable`, keyed by the router's external IP, so tenants'
/// overlapping addresses never meet): a flow's first packet creates a session with an
/// external port found by a bounded search in the router's port range; later packets
/// refresh it and drive the TCP state that picks its timeout. The source becomes
/// external IP:port (ICMP echo: the identifier) with every checksum patched; an ICMP error
/// from the VM about a session's inbound packet is translated by its quote (RFC 5508 §4.2).
/// Then: destination MAC = the upstream gateway, source MAC = the router's gateway port
/// MAC, out of the uplink.
///
/// Drops: `snat-ports-exhausted`, `snat-table-full` (new flows only; existing sessions keep
/// working), `snat-fragment`, `nat-unsupported-protocol`, `nat-truncated`,
/// `nat-icmp-error-no-match`, `snat-no-gateway`, `external-next-hop-unresolved`, `ip4-*`.
/// With more than one worker, a packet whose session belongs to another worker (its in2out
/// hash names the owner, `NATPartition`) goes to nat-handoff untouched; the owner creates
/// sessions with ports from its own slice of the range.
///
/// Next nodes: port-output, nat-handoff, error-drop.
@frozen
public struct SNATIn2Out {
  public static let id = NodeID.snatIn2Out
  /// Per packet of the vector being processed: 1 << 32 | its in2out hash when `prefetch`
  /// computed it (an option-less IPv4 header, so the same key the lookup uses), else 0.
  /// Allocated once; the worker's own.
  public let hashes: UnsafeMutablePointer<UInt64>
  public init() {
    hashes = .allocate(capacity: PacketVector.capacity)
    hashes.initialize(repeating: 0, count: PacketVector.capacity)
  }
  public func destroy() { hashes.deallocate() }

  /// Prefetches, for every packet of the vector, its in2out bucket, then the session that
  /// bucket names: the table is far larger than the caches, so the lookups of a vector
  /// overlap their memory latency instead of paying it one after another (VPP's bihash
  /// prefetch). The hash is computed once and kept in `hashes` for the lookup. Reads only
  /// bytes inside each frame; malformed packets are caught later.
  @inlinable @inline(__always)
  func prefetch(_ v: inout PacketVector, routing: RoutingTables, external: ExternalTables, sessions: SessionTable) {
    let n = v.count
    for i in 0..<n {
      let p = v.packets[i]
      hashes[i] = 0
      guard p.length >= 14 + 20 + 8, p.data.loadBE16(at: 12) == EtherType.ipv4, p.data.loadU8(at: 14) == 0x45 else { continue }
      let vrf = Int(routing.interfaces[Int(p.context)].vrf)
      guard vrf < external.gatewayCount else { continue }
      let proto = p.data.loadU8(at: 23)
      let sport = proto == IPProtocol.icmp ? p.data.loadBE16(at: 38) : p.data.loadBE16(at: 34)
      let dport = proto == IPProtocol.icmp ? 0 : p.data.loadBE16(at: 36)
      let h = SessionTable.in2outHash(externalIP: external.gateways[vrf].externalIP, proto: proto, insideIP: p.data.loadBE32(at: 26),
                                      insidePort: sport, remoteIP: p.data.loadBE32(at: 30), remotePort: dport)
      hashes[i] = 1 << 32 | UInt64(h)
      cdpdk_prefetch0(sessions.in2outBucket(h))
    }
    for i in 0..<n where hashes[i] != 0 {
      if let s = sessions.in2outCandidate(UInt32(truncatingIfNeeded: hashes[i])) { cdpdk_prefetch0(s) }
    }
  }

  @inlinable
  public func process(_ v: inout PacketVector, routing: RoutingTables, external: ExternalTables, sessions: SessionTable, now: UInt32,
                      worker: Int, workers: Int, counters: NodeCounters) {
    prefetch(&v, routing: routing, external: external, sessions: sessions)
    for i in 0..<v.count {
      let p = v.packets[i]
      do throws(DropReason) {
        let vrf = Int(routing.interfaces[Int(p.context)].vrf)
        guard vrf < external.gatewayCount, external.uplinkPort >= 0 else { throw .snatNoGateway }
        let gw = external.gateways[vrf]
        guard gw.snatHere else { throw .snatNoGateway }
        guard gw.upstreamResolved else { throw .externalNextHopUnresolved }
        guard p.data.loadBE16(at: 12) == EtherType.ipv4 else { throw .ip4UnsupportedEtherType }
        let ip = try IPv4Header(validating: p.data + EthernetHeader.minimumLength, length: Int(p.length) &- EthernetHeader.minimumLength)
        guard ip.checksumIsValid else { throw .ipBadChecksum }
        guard !ip.isFragment else { throw .snatFragment }
        let l4 = try NATRewrite.l4(ip)
        let proto = ip.proto
        if proto == IPProtocol.icmp && !ICMPv4Header.MessageType.isQuery(l4.loadU8(at: 0)) {
          let q = try NATRewrite.quote(icmp: l4, length: ip.payloadLength)
          let icmpQuery = q.proto == IPProtocol.icmp
          let insidePort = icmpQuery ? q.sourcePort : q.destinationPort, remotePort = icmpQuery ? 0 : q.sourcePort
          if workers > 1 {
            let owner = NATPartition(portLow: gw.portLow, portHigh: gw.portHigh, workers: workers).owner(
              in2outHash: SessionTable.in2outHash(externalIP: gw.externalIP, proto: q.proto, insideIP: q.destination,
                                                  insidePort: insidePort, remoteIP: q.source, remotePort: remotePort))
            if owner != worker {
              v.handOff(i, to: owner, resumingAt: Self.id)
              continue
            }
          }
          try Self.translateError(ip, l4: l4, quote: q, insidePort: insidePort, remotePort: remotePort, gw: gw, sessions: sessions)
        } else {
          let sport = NATRewrite.port(l4, proto: proto, .source)
          let dport = proto == IPProtocol.icmp ? 0 : NATRewrite.port(l4, proto: proto, .destination)
          // The prefetch pass hashed the same key (same offsets: its header had no options).
          let known = hashes[i]
          let hash = known != 0 ? UInt32(truncatingIfNeeded: known)
            : SessionTable.in2outHash(externalIP: gw.externalIP, proto: proto, insideIP: ip.source.value, insidePort: sport,
                                      remoteIP: ip.destination.value, remotePort: dport)
          var portLow = gw.portLow, portHigh = gw.portHigh
          if workers > 1 {
            let part = NATPartition(portLow: portLow, portHigh: portHigh, workers: workers)
            let owner = part.owner(in2outHash: hash)
            if owner != worker {
              v.handOff(i, to: owner, resumingAt: Self.id)
              continue
            }
            (portLow, portHigh) = part.slice(worker)
          }
          var k = sessions.lookupIn2Out(hash: hash, externalIP: gw.externalIP, proto: proto, insideIP: ip.source.value, insidePort: sport,
                                        remoteIP: ip.destination.value, remotePort: dport)
          if k < 0 {
            k = sessions.create(proto: proto, externalIP: gw.externalIP, insideIP: ip.source.value, insidePort: sport,
                                remoteIP: ip.destination.value, remotePort: dport, portLow: portLow, portHigh: portHigh, now: now,
                                in2outHash: hash)
            if k == -1 { throw .snatPortsExhausted }
            if k < 0 { throw .snatTableFull }
          }
          let s = sessions.session(k)
          if sessions.isExpired(s.pointee, now: now) { s.pointee.tcp = 0 }   // idle past its timeout: starts over
          if proto == IPProtocol.tcp { s.pointee.tcp = TCPState.update(s.pointee.tcp, flags: l4.loadU8(at: 13), fromOutside: false) }
          s.pointee.lastSeen = now
          s.pointee.packetsIn2Out &+= 1
          s.pointee.bytesIn2Out &+= UInt64(ip.totalLength)
          NATRewrite.rewrite(ip, l4: l4, .source, address: gw.externalIP, port: s.pointee.externalPort)
        }
        p.data.storeMAC(gw.upstreamMAC, at: 0)
        p.data.storeMAC(gw.mac, at: 6)
        v.packets[i].outPort = UInt16(truncatingIfNeeded: external.uplinkPort)
        v.next[i] = NodeID.portOutput.rawValue
      } catch {
        v.drop(i, error, node: Self.id, counters: counters)
      }
    }
  }

  /// An ICMP error a VM sends about a packet it received through a session: its quote `q`
  /// is that packet (remote → inside), found by the session's inside key.
  @inlinable
  static func translateError(_ ip: IPv4Header, l4: UnsafeMutableRawPointer, quote q: NATRewrite.Quote, insidePort: UInt16,
                             remotePort: UInt16, gw: GatewayInfo, sessions: SessionTable) throws(DropReason) {
    let k = sessions.lookupIn2Out(externalIP: gw.externalIP, proto: q.proto, insideIP: q.destination, insidePort: insidePort,
                                  remoteIP: q.source, remotePort: remotePort)
    guard k >= 0, q.destination == ip.source.value else { throw .natICMPErrorNoMatch }
    let s = sessions.session(k).pointee
    NATRewrite.rewriteQuote(q, icmp: l4, .destination, address: gw.externalIP, port: s.externalPort)
    NATRewrite.rewrite(ip, l4: l4, .source, address: gw.externalIP, port: nil)
  }
}

extension SNATIn2Out: GraphNode {
  public static let next: [NodeID] = [.natHandoff, .portOutput]
  public static let drops: [DropReason] = DropReason.ipv4Errors + DropReason.natErrors + [.ip4UnsupportedEtherType, .snatNoGateway, .externalNextHopUnresolved, .snatFragment, .snatPortsExhausted, .snatTableFull]
}
