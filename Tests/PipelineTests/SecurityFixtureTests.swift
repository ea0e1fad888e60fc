import Compiler
import Control
import Fixtures
import IO
import Pipeline
import Tables
import Testing
import Wire

// Security groups and lists on memory ports: requests in, packets out, the real graph and
// the real connection table. "web" (10.1.0.10) is filtered; "client" (10.1.0.20) is not.

let webMAC = MACAddress(0xfa, 0x16, 0x3e, 0, 1, 10), clientMAC = MACAddress(0xfa, 0x16, 0x3e, 0, 1, 20)
let webIP = IPv4Address(10, 1, 0, 10), clientIP = IPv4Address(10, 1, 0, 20)
let anywhere = IPv4Prefix(IPv4Address(0), 0)

/// A TCP segment with `flags` between the two VMs.
func tcp(_ flags: UInt8, from: IPv4Address, to: IPv4Address, sport: UInt16, dport: UInt16) -> [UInt8] {
  let (dst, src) = from == clientIP ? (webMAC, clientMAC) : (clientMAC, webMAC)
  var f = l4Frame(dst: dst, src: src, from: from, to: to, proto: IPProtocol.tcp, sport: sport, dport: dport)
  f[47] = flags
  return f
}
func udp(from: IPv4Address, to: IPv4Address, sport: UInt16, dport: UInt16) -> [UInt8] {
  let (dst, src) = from == clientIP ? (webMAC, clientMAC) : (clientMAC, webMAC)
  return l4Frame(dst: dst, src: src, from: from, to: to, proto: IPProtocol.udp, sport: sport, dport: dport)
}

/// web in group "web" (plus `extra` requests), client unfiltered, one network.
/// (A network's lists filter every port on it with port security: the client then has none.)
func securityRig(_ rules: [ControlRequest], lists: [String] = [], before: [ControlRequest] = [], webGroups: [String] = ["web"],
                 conntrack: ConnTrack? = nil) throws -> Rig {
  try Rig(before + [Make.group("web")] + rules + [Make.network("n", vni: 1, lists: lists),
          Make.port("web", on: "n", mac: webMAC, ips: [webIP], groups: webGroups),
          Make.port("client", on: "n", mac: clientMAC, ips: [clientIP], security: lists.isEmpty)],
          names: ["web", "client"], conntrack: conntrack)
}

extension Rig {
  /// Sends `frame` from port `from` and returns what the other port received.
  mutating func send(_ frame: [UInt8], from: String) -> [[UInt8]] {
    port(from).inject(frame)
    pump()
    return port(from == "web" ? "client" : "web").drainCaptured()
  }
  func drops(_ node: NodeID, _ r: DropReason) -> UInt64 { worker.graph.counters.drops(node, r) }
}

@Suite struct SecurityFixtureTests {
  @Test func anAllowedPortConnectsAndItsRepliesPassAnotherPortIsDenied() throws {
    var rig = try securityRig([Make.rule("web", "ssh", .ingress, proto: 6, ports: 22...22)])
    #expect(rig.send(tcp(0x02, from: clientIP, to: webIP, sport: 40000, dport: 22), from: "client").count == 1)
    #expect(rig.send(tcp(0x02, from: clientIP, to: webIP, sport: 40001, dport: 80), from: "client").isEmpty)
    #expect(rig.drops(.aclIngress, .aclIngressDeny) == 1)
    // web has no egress rule: its SYN/ACK passes as the reply of a tracked connection.
    #expect(rig.send(tcp(0x12, from: webIP, to: clientIP, sport: 22, dport: 40000), from: "web").count == 1)
    #expect(rig.send(tcp(0x10, from: clientIP, to: webIP, sport: 40000, dport: 22), from: "client").count == 1)
    // …but web cannot open a connection of its own.
    #expect(rig.send(tcp(0x02, from: webIP, to: clientIP, sport: 50000, dport: 80), from: "web").isEmpty)
    #expect(rig.drops(.aclEgress, .aclEgressDeny) == 1)
    // A segment that starts nothing and belongs to nothing.
    #expect(rig.send(tcp(0x10, from: clientIP, to: webIP, sport: 40002, dport: 22), from: "client").count == 1)   // loose pickup: a rule admits it
    #expect(rig.send(tcp(0x10, from: clientIP, to: webIP, sport: 40003, dport: 80), from: "client").isEmpty)
    #expect(rig.drops(.aclIngress, .ctInvalid) == 1)
    #expect(rig.worker.conntrack.stat(.live) == 2)
  }

  /// A tracked connection's packets take `ACLFilter`'s inline path; what that path does not
  /// vouch for goes through the full validators and is dropped as they say, connection or
  /// not: a UDP length past the IP payload, a TCP data offset under 20, an IP total length
  /// past the frame. A header with options, a fragment's first part and a TTL change take
  /// the general path and still find the connection.
  @Test func trackedConnectionsPacketsAreValidatedLikeAnyOther() throws {
    var rig = try securityRig([Make.rule("web", "dns", .ingress, proto: 17, ports: 53...53),
                               Make.rule("web", "ssh", .ingress, proto: 6, ports: 22...22)])
    let q = udp(from: clientIP, to: webIP, sport: 5000, dport: 53)
    #expect(rig.send(q, from: "client").count == 1)
    #expect(rig.send(q, from: "client").count == 1)
    var badUDP = q
    badUDP[38] = 0x01; badUDP[39] = 0x00   // UDP length 256 > 32
    #expect(rig.send(badUDP, from: "client").isEmpty)
    #expect(rig.drops(.aclIngress, .udpBadLength) == 1)
    var badIP = q
    badIP[16] = 0x05; badIP[17] = 0xdc    // total length 1500 > the frame
    #expect(rig.send(badIP, from: "client").isEmpty)
    #expect(rig.drops(.aclIngress, .ipBadTotalLength) == 1)
    var firstFragment = q
    firstFragment[20] = 0x20               // more fragments, offset 0: handled whole
    #expect(rig.send(firstFragment, from: "client").count == 1)
    var laterFragment = q
    laterFragment[21] = 0x10               // offset 16 × 8: no ports
    #expect(rig.send(laterFragment, from: "client").isEmpty)
    #expect(rig.drops(.aclIngress, .ctFragment) == 1)
    // A header with options (IHL 6: a 4-byte NOP option block before the UDP header).
    var withOptions = Array(q[0..<34]) + [1, 1, 1, 0] + Array(q[34...])
    withOptions[14] = 0x46
    withOptions[16] = 0; withOptions[17] = UInt8(withOptions.count - 14)
    #expect(rig.send(withOptions, from: "client").count == 1)
    let syn = tcp(0x02, from: clientIP, to: webIP, sport: 40000, dport: 22)
    #expect(rig.send(syn, from: "client").count == 1)
    var badTCP = tcp(0x10, from: clientIP, to: webIP, sport: 40000, dport: 22)
    badTCP[46] = 0x40                      // data offset 16 bytes
    #expect(rig.send(badTCP, from: "client").isEmpty)
    #expect(rig.drops(.aclIngress, .tcpBadDataOffset) == 1)
    #expect(rig.worker.conntrack.stat(.live) == 2)
  }

  @Test func repliesOfTheVMsOwnConnectionsPassWithoutAnIngressRule() throws {
    var rig = try securityRig([Make.rule("web", "out", .egress)])
    #expect(rig.send(udp(from: webIP, to: clientIP, sport: 5000, dport: 53), from: "web").count == 1)
    #expect(rig.send(udp(from: clientIP, to: webIP, sport: 53, dport: 5000), from: "client").count == 1)
    #expect(rig.send(udp(from: clientIP, to: webIP, sport: 53, dport: 5001), from: "client").isEmpty)   // not a reply
    // An ICMP error about web's connection is related and passes; one about nothing does not.
    let original = udp(from: webIP, to: clientIP, sport: 5000, dport: 53)
    let related = icmpError(dst: webMAC, src: clientMAC, from: clientIP, to: webIP, type: 3, code: 3, quoting: original)
    #expect(rig.send(related, from: "client").count == 1)
    let unrelated = icmpError(dst: webMAC, src: clientMAC, from: clientIP, to: webIP, type: 3, code: 3,
                              quoting: udp(from: webIP, to: clientIP, sport: 6000, dport: 53))
    #expect(rig.send(unrelated, from: "client").isEmpty)
  }

  @Test func aStatelessRuleNeedsItsReverseAndBeatsAStatefulOne() throws {
    let net = IPv4Prefix(IPv4Address(10, 1, 0, 0), 24)
    var rig = try securityRig([], lists: ["l"], before: [
      Make.list("l"), Make.listRule("l", "dns-in", .ingress, stateless: true, cidr: net, proto: 17, ports: 53...53),
      Make.listRule("l", "dns-in-stateful", .ingress, stateless: false, cidr: net, proto: 17, ports: 53...53),
    ], webGroups: [])
    #expect(rig.send(udp(from: clientIP, to: webIP, sport: 5000, dport: 53), from: "client").count == 1)
    #expect(rig.worker.conntrack.stat(.live) == 0)     // stateless won: nothing tracked
    #expect(rig.send(udp(from: webIP, to: clientIP, sport: 53, dport: 5000), from: "web").isEmpty)   // the reply has no rule
    #expect(rig.drops(.aclEgress, .aclEgressDeny) == 1)
    try rig.apply([Make.listRule("l", "dns-out", .egress, stateless: true, cidr: net, proto: 17)])
    #expect(rig.send(udp(from: webIP, to: clientIP, sport: 53, dport: 5000), from: "web").count == 1)
  }

  @Test func aRuleChangeCutsTheConnectionsItNoLongerAdmitsOnly() throws {
    var rig = try securityRig([Make.rule("web", "ssh", .ingress, proto: 6, ports: 22...22),
                               Make.rule("web", "http", .ingress, proto: 6, ports: 80...80)])
    for sport: UInt16 in [40000, 40001] {    // two connections, both established
      let dport: UInt16 = sport == 40000 ? 22 : 80
      #expect(rig.send(tcp(0x02, from: clientIP, to: webIP, sport: sport, dport: dport), from: "client").count == 1)
      #expect(rig.send(tcp(0x12, from: webIP, to: clientIP, sport: dport, dport: sport), from: "web").count == 1)
      #expect(rig.send(tcp(0x10, from: clientIP, to: webIP, sport: sport, dport: dport), from: "client").count == 1)
    }
    try rig.apply([.securityGroupRuleDelete(group: "web", rule: "http")])
    #expect(rig.worker.conntrack.stat(.revoked) == 1 && rig.worker.conntrack.stat(.live) == 1)
    #expect(rig.send(tcp(0x10, from: clientIP, to: webIP, sport: 40001, dport: 80), from: "client").isEmpty)   // cut
    #expect(rig.send(tcp(0x10, from: clientIP, to: webIP, sport: 40000, dport: 22), from: "client").count == 1)   // untouched
  }

  @Test func remoteGroupMembershipFollowsThePorts() throws {
    // (In a group, the client is filtered too: its group lets everything out.)
    var rig = try securityRig([Make.group("clients"), Make.rule("clients", "out", .egress),
                               Make.rule("web", "from-clients", .ingress, proto: 6, remoteGroup: "clients")])
    #expect(rig.send(tcp(0x02, from: clientIP, to: webIP, sport: 40000, dport: 22), from: "client").isEmpty)
    try rig.apply([.portUpdate(id: "client", location: nil, fixedIPs: nil, portSecurity: nil, securityGroups: ["clients"])])
    #expect(rig.send(tcp(0x02, from: clientIP, to: webIP, sport: 40000, dport: 22), from: "client").count == 1)
    try rig.apply([.portUpdate(id: "client", location: nil, fixedIPs: nil, portSecurity: nil, securityGroups: [])])
    // Both ends go: web's entry (no rule admits the client any more) and the client's own
    // (it is no longer filtered at all).
    #expect(rig.worker.conntrack.stat(.revoked) == 2)
    #expect(rig.send(tcp(0x10, from: clientIP, to: webIP, sport: 40000, dport: 22), from: "client").isEmpty)
  }

  @Test func identicalAddressesInTwoTenantsNeverShareAConnection() throws {
    var rig = try Rig([Make.group("a", tenant: "ta"), Make.rule("a", "out", .egress), Make.group("b", tenant: "tb"),
                       Make.network("na", vni: 1, tenant: "ta"), Make.network("nb", vni: 2, tenant: "tb"),
                       Make.port("wa", on: "na", mac: webMAC, ips: [webIP], groups: ["a"]), Make.port("ca", on: "na", mac: clientMAC, ips: [clientIP]),
                       Make.port("wb", on: "nb", mac: webMAC, ips: [webIP], groups: ["b"]), Make.port("cb", on: "nb", mac: clientMAC, ips: [clientIP])],
                      names: ["wa", "ca", "wb", "cb"])
    rig.port("wa").inject(udp(from: webIP, to: clientIP, sport: 5000, dport: 53))
    rig.pump()
    #expect(rig.port("ca").drainCaptured().count == 1)
    // The same reply in tenant b: wb opened nothing, and its group admits nothing in.
    rig.port("cb").inject(udp(from: clientIP, to: webIP, sport: 53, dport: 5000))
    rig.pump()
    #expect(rig.port("wb").drainCaptured().isEmpty && rig.drops(.aclIngress, .aclIngressDeny) == 1)
    rig.port("ca").inject(udp(from: clientIP, to: webIP, sport: 53, dport: 5000))
    rig.pump()
    #expect(rig.port("wa").drainCaptured().count == 1)
  }

  @Test func aFullTableRefusesNewConnectionsAndKeepsEstablishedOnes() throws {
    let ct = ConnTrack(capacity: ConnTrack.ways)     // one bucket of 8
    defer { ct.destroy() }
    var rig = try securityRig([Make.rule("web", "out", .egress)], conntrack: ct)
    for i in 0..<ConnTrack.ways { #expect(rig.send(udp(from: webIP, to: clientIP, sport: UInt16(5000 + i), dport: 53), from: "web").count == 1) }
    #expect(rig.send(udp(from: webIP, to: clientIP, sport: 6000, dport: 53), from: "web").isEmpty)
    #expect(rig.drops(.aclEgress, .ctTableFull) == 1)
    #expect(rig.send(udp(from: clientIP, to: webIP, sport: 53, dport: 5003), from: "client").count == 1)
  }

  @Test func floodedCopiesToAFilteredPortAreFiltered() throws {
    var rig = try securityRig([Make.rule("web", "ssh", .ingress, proto: 6, ports: 22...22)])
    // Unknown destination MAC: flooded; web's copy only if its rules admit it.
    var unknown = tcp(0x02, from: clientIP, to: webIP, sport: 40000, dport: 80)
    unknown.replaceSubrange(0..<6, with: [2, 0, 0, 0, 0, 0x77])
    #expect(rig.send(unknown, from: "client").isEmpty)
    #expect(rig.drops(.l2Flood, .aclIngressDeny) == 1)
    var allowed = tcp(0x02, from: clientIP, to: webIP, sport: 40000, dport: 22)
    allowed.replaceSubrange(0..<6, with: [2, 0, 0, 0, 0, 0x77])
    #expect(rig.send(allowed, from: "client").count == 1)
  }
}
