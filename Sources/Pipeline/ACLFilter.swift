import Buffers
import CDPDKShim
import Tables
import Wire

/// The stateful filter of a filtered port (security groups and lists), for one IPv4 packet
/// crossing it: a tracked connection's packets pass (TCP states as `TCPTracking`), ICMP
/// errors quoting a tracked connection pass as related (traceroute, path-MTU discovery),
/// and a packet of no connection is classified once: a stateless rule admits it alone, a
/// stateful rule admits it and starts tracking its connection, nothing denies it.
///
/// Fragments: a non-first fragment carries no ports, so it can be neither classified nor
/// matched to a connection: dropped (`ct-fragment`). First fragments are handled as whole
/// packets.
///
/// Called by acl-egress (packets from the VM), acl-ingress (packets to it) and l2-flood
/// (flooded copies to a filtered port), on any worker.
public enum ACLFilter {
  /// Protocol classes of `ACLConfig.Policy.tables`.
  public static let tcpClass = 0, udpClass = 1, icmpClass = 2, otherClass = 3

  /// nil: the packet passes; else why it is dropped. `frame` holds an Ethernet frame of
  /// `length` bytes whose IPv4 header is at `l3` (offset); `egress` true for a packet the VM
  /// sends; `interface` the filtered port. Counts the admitting rule's hit in `counters`
  /// when a packet is classified. For one packet at a time (l2-flood's copies); the ACL
  /// nodes use `prefetch` and `check(_:…)` over a vector.
  @inlinable @inline(__always)
  public static func check(_ frame: UnsafeMutableRawPointer, length: Int, l3: Int, egress: Bool, interface: Int,
                           acl: ACLTables, ct: ConnTrack, now: UInt32, counters: ACLCounters) -> DropReason? {
    var key = fastKey(frame, length: length, l3: l3, egress: egress, zone: acl.zone(ofInterface: interface))
    if key.k1 != 0 { key.hash = ConnTrack.hash(key.k0, key.k1) }
    return check(key, frame, length: length, l3: l3, egress: egress, interface: interface, acl: acl, ct: ct, now: now, counters: counters)
  }

  /// Computes the `fastKey` of each IPv4 packet of `v` into `keys` (`FastKey.none` for the
  /// others), with its connection hash, and prefetches where its lookup starts, so that the
  /// lookups of a vector overlap their memory latency instead of paying it one after
  /// another (VPP's prefetch pass; W6 on the memory backend: 9–17 % more packets per
  /// second). Each packet's port is its `inPort` for egress, else its `outPort`. Reads only
  /// bytes inside each frame.
  @inlinable @inline(__always)
  public static func prefetch(_ v: PacketVector, keys: UnsafeMutablePointer<FastKey>, egress: Bool, acl: ACLTables, ct: ConnTrack) {
    for i in 0..<v.count {
      let p = v.packets[i]
      guard p.data.loadBE16(at: 12) == EtherType.ipv4 else { keys[i] = .none; continue }
      let zone = acl.zone(ofInterface: Int(egress ? p.inPort : p.outPort))
      var key = fastKey(p.data, length: Int(p.length), l3: 14, egress: egress, zone: zone)
      if key.k1 != 0 {
        key.hash = ConnTrack.hash(key.k0, key.k1)
        cdpdk_prefetch0(ct.firstSlot(hash: key.hash))
      }
      keys[i] = key
    }
  }

  /// `check` of a packet whose `key` `prefetch` computed; `interface` is the filtered port
  /// (whose policy and zone only a packet of no known connection needs).
  @inlinable @inline(__always)
  public static func check(_ key: FastKey, _ frame: UnsafeMutableRawPointer, length: Int, l3: Int, egress: Bool, interface: Int,
                           acl: ACLTables, ct: ConnTrack, now: UInt32, counters: ACLCounters) -> DropReason? {
    if key.k1 != 0 {
      let slot = ct.find(key.k0, key.k1, hash: key.hash)
      if slot >= 0 { return track(slot, proto: UInt8(truncatingIfNeeded: key.k1 >> 32), flags: key.flags, egress: egress, now: now, ct: ct) }
    }
    return classify(frame, length: length, l3: l3, egress: egress, policy: acl.policy(ofInterface: interface),
                    zone: acl.zone(ofInterface: interface), acl: acl, ct: ct, now: now, counters: counters)
  }

  /// The connection key of the common case, found inline: an option-less, unfragmented
  /// IPv4 packet of UDP or TCP whose headers pass the same checks as `IPv4Header`,
  /// `UDPHeader` and `TCPHeader(validating:)`. `k1` 0 for anything else — options,
  /// fragments, other protocols, malformed headers — which `classify` handles in full.
  @frozen public struct FastKey {
    public var k0: UInt64
    public var k1: UInt64
    /// `ConnTrack.hash(k0, k1)`, when computed (else 0, with `k1` 0).
    public var hash: UInt64 = 0
    public var flags: UInt8
    @inlinable public init(k0: UInt64, k1: UInt64, flags: UInt8) {
      self.k0 = k0
      self.k1 = k1
      self.flags = flags
    }
    public static let none = FastKey(k0: 0, k1: 0, flags: 0)
  }

  @inlinable @inline(__always)
  public static func fastKey(_ frame: UnsafeMutableRawPointer, length: Int, l3: Int, egress: Bool, zone: UInt16) -> FastKey {
    let available = length &- l3
    guard available >= 28 else { return .none }
    let h = frame + l3
    let w0 = h.loadBE32(at: 0), proto = h.loadU8(at: 9)
    let total = Int(w0 & 0xffff)
    guard w0 >> 24 == 0x45, h.loadBE16(at: 6) & 0x3fff == 0, total <= available else { return .none }
    let l4Length = total &- IPv4Header.minimumLength
    var flags: UInt8 = 0
    if proto == IPProtocol.udp {
      let u = Int(h.loadBE16(at: 24))
      guard l4Length >= UDPHeader.length, u >= UDPHeader.length, u <= l4Length else { return .none }
    } else if proto == IPProtocol.tcp, l4Length >= TCPHeader.minimumLength {
      let d = Int(h.loadU8(at: 32) >> 4) &* 4
      flags = h.loadU8(at: 33)
      guard d >= TCPHeader.minimumLength, d <= l4Length else { return .none }
    } else {
      return .none
    }
    // ConnTrack.keys with the VM's side first: the source for egress, else the destination.
    let src = UInt64(h.loadBE32(at: 12)), dst = UInt64(h.loadBE32(at: 16)), ports = UInt64(h.loadBE32(at: 20))
    let vmPorts = egress ? ports : (ports << 16 | ports >> 16) & 0xffff_ffff
    return FastKey(k0: egress ? src << 32 | dst : dst << 32 | src,
                   k1: ConnTrack.present | UInt64(zone) << 40 | UInt64(proto) << 32 | vmPorts, flags: flags)
  }

  /// A packet of tracked connection `slot`: refreshes its last-seen time, notes a reply,
  /// and advances its TCP state; `ct-invalid` for a TCP packet the state does not admit.
  @inlinable @inline(__always)
  static func track(_ slot: Int, proto: UInt8, flags: UInt8, egress: Bool, now: UInt32, ct: ConnTrack) -> DropReason? {
    let old = ct.loadState(slot)
    let isReply = egress != (old & ConnTrack.openedByVM != 0)
    var state = old & ~0xffff_ffff | UInt64(now)
    if isReply { state |= ConnTrack.replySeen }
    if proto == IPProtocol.tcp {
      let next = TCPTracking.next(UInt8(truncatingIfNeeded: old >> 32), flags: flags, isReply: isReply)
      if next == TCPTracking.invalid { return .ctInvalid }
      if next != TCPTracking.ignore { state = state & ~(0xff << 32) | UInt64(next) << 32 }
    }
    _ = ct.updateState(slot, from: old, to: state)   // a racing update by another worker wins: fine
    return nil
  }

  /// The general path of `check`: every header validated, related ICMP errors, and the
  /// classification of a connection's first packet.
  @inlinable @inline(never)
  static func classify(_ frame: UnsafeMutableRawPointer, length: Int, l3: Int, egress: Bool, policy: Int, zone: UInt16,
                       acl: ACLTables, ct: ConnTrack, now: UInt32, counters: ACLCounters) -> DropReason? {
    let ip: IPv4Header
    do { ip = try IPv4Header(validating: frame + l3, length: length &- l3) } catch { return error }
    if ip.fragmentOffset != 0 { return .ctFragment }
    let proto = ip.proto
    let l4 = ip.payload, l4Length = ip.payloadLength
    let src = ip.source.value, dst = ip.destination.value
    var sourcePort: UInt16 = 0, destinationPort: UInt16 = 0, key: UInt32 = 0, flags: UInt8 = 0
    let protoClass: Int
    switch proto {
    case IPProtocol.tcp:
      do {
        let t = try TCPHeader(validating: l4, length: l4Length)
        sourcePort = t.sourcePort
        destinationPort = t.destinationPort
        flags = t.flags
      } catch { return error }
      key = UInt32(destinationPort)
      protoClass = tcpClass
    case IPProtocol.udp:
      do {
        let u = try UDPHeader(validating: l4, length: l4Length)
        sourcePort = u.sourcePort
        destinationPort = u.destinationPort
      } catch { return error }
      key = UInt32(destinationPort)
      protoClass = udpClass
    case IPProtocol.icmp:
      let icmp: ICMPv4Header
      do { icmp = try ICMPv4Header(validating: l4, length: l4Length) } catch { return error }
      key = UInt32(icmp.type) << 8 | UInt32(icmp.code)
      protoClass = icmpClass
      if ICMPv4Header.MessageType.isQuery(icmp.type) {
        sourcePort = icmp.identifier
        destinationPort = icmp.identifier
      } else if ICMPv4Header.MessageType.isError(icmp.type), let q = try? NATRewrite.quote(icmp: l4, length: l4Length) {
        // Related: the error is about a packet of a tracked connection, which travelled the
        // other way (the quote's source is this packet's destination side).
        let vmIP = egress ? q.destination : q.source, remoteIP = egress ? q.source : q.destination
        let vmPort = egress ? q.destinationPort : q.sourcePort, remotePort = egress ? q.sourcePort : q.destinationPort
        let (k0, k1) = ConnTrack.keys(zone: zone, proto: q.proto, vmIP: vmIP, vmPort: vmPort, remoteIP: remoteIP, remotePort: remotePort)
        if ct.find(k0, k1) >= 0 { return nil }
      }
    default:
      key = UInt32(proto)
      protoClass = otherClass
    }
    let vmIP = egress ? src : dst, remoteIP = egress ? dst : src
    let vmPort = egress ? sourcePort : destinationPort, remotePort = egress ? destinationPort : sourcePort
    let (k0, k1) = ConnTrack.keys(zone: zone, proto: proto, vmIP: vmIP, vmPort: vmPort, remoteIP: remoteIP, remotePort: remotePort)
    let slot = ct.find(k0, k1)
    if slot >= 0 { return track(slot, proto: proto, flags: flags, egress: egress, now: now, ct: ct) }
    let direction = egress ? 1 : 0
    if let rule = acl.admit(policy: policy, direction: direction, stateless: true, protoClass: protoClass, remote: remoteIP, key: key,
                            sourcePort: sourcePort) {
      counters.hit(rule)
      return nil
    }
    guard let rule = acl.admit(policy: policy, direction: direction, stateless: false, protoClass: protoClass, remote: remoteIP, key: key,
                               sourcePort: sourcePort) else {
      if proto == IPProtocol.tcp && TCPTracking.flagClass(flags) != 0 { return .ctInvalid }   // starts nothing, matches nothing
      return egress ? .aclEgressDeny : .aclIngressDeny
    }
    var tcpState: UInt8 = 0
    if proto == IPProtocol.tcp {
      tcpState = TCPTracking.next(TCPTracking.none, flags: flags, isReply: false)
      if tcpState == TCPTracking.invalid { return .ctInvalid }
    }
    let initial = UInt64(now) | UInt64(tcpState) << 32 | (egress ? ConnTrack.openedByVM : 0) | UInt64(rule & 0xffff) << 48
    guard ct.insert(k0, k1, initial: initial) >= 0 else { return .ctTableFull }
    counters.hit(rule)
    return nil
  }
}
