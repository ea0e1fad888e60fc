import Tables
import Wire

/// What the control thread does to the connection table: expire idle connections, and
/// remove those that the published rules no longer admit. Any number of workers keep
/// using the table meanwhile (removal is a compare-and-swap of the entry's key).
public enum ConnTrackMaintenance {
  /// Removes every connection whose zone belongs to no filtered interface any more, was
  /// given to another port by this publish (`freshZones`), or whose opening packet no
  /// stateful rule of its port admits now (a rule or a remote group's membership changed).
  /// Returns how many were removed.
  @discardableResult
  public static func revalidate(_ ct: ConnTrack, acl: ACLTables, interfaceOfZone: [Int: Int], freshZones: Set<Int>) -> Int {
    var removed = 0
    for slot in 0..<ct.capacity {
      guard let e = ct.entry(slot) else { continue }
      let zone = Int(e.zone)
      guard let interface = interfaceOfZone[zone], !freshZones.contains(zone), acl.policy(ofInterface: interface) != 0 else {
        if ct.remove(e, as: .revoked) { removed += 1 }
        continue
      }
      if !admits(e, acl: acl, policy: acl.policy(ofInterface: interface)), ct.remove(e, as: .revoked) { removed += 1 }
    }
    return removed
  }

  /// Does a stateful rule of `policy` admit the packet that opened `e`?
  public static func admits(_ e: ConnTrack.Entry, acl: ACLTables, policy: Int) -> Bool {
    let byVM = e.state & ConnTrack.openedByVM != 0
    let cls: Int, key: UInt32
    switch e.proto {
    case IPProtocol.tcp, IPProtocol.udp:
      cls = e.proto == IPProtocol.tcp ? ACLFilter.tcpClass : ACLFilter.udpClass
      key = UInt32(byVM ? e.remotePort : e.vmPort)
    case IPProtocol.icmp:
      cls = ACLFilter.icmpClass
      key = UInt32(ICMPv4Header.MessageType.echoRequest) << 8
    default:
      cls = ACLFilter.otherClass
      key = UInt32(e.proto)
    }
    return acl.admit(policy: policy, direction: byVM ? 1 : 0, stateless: false, protoClass: cls, remote: e.remoteIP, key: key,
                     sourcePort: byVM ? e.vmPort : e.remotePort) != nil
  }

  /// Expires idle connections among `count` slots from `from`; returns where to continue.
  public static func expire(_ ct: ConnTrack, from: Int, count: Int, now: UInt32, timeouts: ConnTrackTimeouts) -> Int {
    var slot = from % max(ct.capacity, 1)
    for _ in 0..<min(count, ct.capacity) {
      if let e = ct.entry(slot), e.lastSeen <= now, now - e.lastSeen > timeouts.timeout(proto: e.proto, state: e.state) {
        ct.remove(e, as: .expired)
      }
      slot = (slot + 1) % ct.capacity
    }
    return slot
  }
}
