import Buffers
import Control
import Fixtures
import IO
import Pipeline
import Tables
import Testing
import Wire

// The router nodes on memory ports: ip4-input, ip4-lookup, ip4-local, icmp-error.

let gw1 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 1, 0), gw2 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 2, 0)
let vmA = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 10), vmB = MACAddress(0xfa, 0x16, 0x3e, 2, 0, 10)

/// Port a: VM A 10.1.0.10 on subnet 1 (gateway 10.1.0.1), port b: VM B 10.2.0.10 on subnet 2
/// (MTU 1400), one router.
func routerRig() throws -> Rig {
  try Rig([Make.network("n1", vni: 1, mtu: 1500), Make.network("n2", vni: 2, mtu: 1400), Make.router("r"),
           Make.interface("r", "n1", IPv4Address(10, 1, 0, 1), 24, mac: gw1), Make.interface("r", "n2", IPv4Address(10, 2, 0, 1), 24, mac: gw2),
           Make.port("a", on: "n1", mac: vmA, ips: [IPv4Address(10, 1, 0, 10)]), Make.port("b", on: "n2", mac: vmB, ips: [IPv4Address(10, 2, 0, 10)])],
          names: ["a", "b"])
}

func routed(ttl: UInt8 = 64, to: IPv4Address = IPv4Address(10, 2, 0, 10), length: Int = 100, df: Bool = false,
            proto: UInt8 = IPProtocol.udp, icmpType: UInt8 = 8) -> [UInt8] {
  var f = udpFrame(dst: gw1, src: vmA, from: IPv4Address(10, 1, 0, 10), to: to, sport: 7, length: length)
  f.withUnsafeMutableBytes { p in
    let ip = IPv4Header(unchecked: p.baseAddress! + 14)
    ip.ttl = ttl
    ip.proto = proto
    if df { p.baseAddress!.storeBE16(0x4000, at: 20) }
    if proto == IPProtocol.icmp { p.baseAddress!.storeU8(icmpType, at: 34); p.baseAddress!.storeU8(0, at: 35) }
    ip.fillChecksum()
  }
  return f
}

@Suite struct RoutingGraphTests {
  /// Neighbours reached straight from the LPM result (adjacency /32s) never beat the
  /// operator's routes: with 10.2.0.48/28 via 10.1.0.254 (port c on subnet 1), a packet to
  /// 10.2.0.50 — a neighbour on subnet 2 too — follows the route; one to 10.2.0.10 goes
  /// straight to VM B; and a static /32 for 10.2.0.10 wins over its adjacency.
  @Test func adjacenciesNeverBeatTheOperatorsRoutes() throws {
    let vmC = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 0xfe), vmD = MACAddress(0xfa, 0x16, 0x3e, 2, 0, 50)
    var rig = try Rig([Make.network("n1", vni: 1), Make.network("n2", vni: 2), Make.router("r"),
                       Make.interface("r", "n1", IPv4Address(10, 1, 0, 1), 24, mac: gw1), Make.interface("r", "n2", IPv4Address(10, 2, 0, 1), 24, mac: gw2),
                       Make.port("a", on: "n1", mac: vmA, ips: [IPv4Address(10, 1, 0, 10)]),
                       Make.port("b", on: "n2", mac: vmB, ips: [IPv4Address(10, 2, 0, 10)]),
                       Make.port("c", on: "n1", mac: vmC, ips: [IPv4Address(10, 1, 0, 254)]),
                       Make.port("d", on: "n2", mac: vmD, ips: [IPv4Address(10, 2, 0, 50)]),
                       Make.route("r", IPv4Prefix(IPv4Address(10, 2, 0, 48), 28), via: IPv4Address(10, 1, 0, 254))],
                      names: ["a", "b", "c", "d"])
    func destinationMAC(_ to: IPv4Address, at port: String) -> MACAddress? {
      rig.port("a").inject(routed(to: to))
      rig.pump()
      let out = rig.port(port).drainCaptured()
      for other in ["a", "b", "c", "d"] where other != port { #expect(rig.port(other).drainCaptured().isEmpty, "\(to) also left on \(other)") }
      return out.first.map { MACAddress($0[0], $0[1], $0[2], $0[3], $0[4], $0[5]) }
    }
    #expect(destinationMAC(IPv4Address(10, 2, 0, 50), at: "c") == vmC, "the /28 via 10.1.0.254 wins over d's adjacency")
    #expect(destinationMAC(IPv4Address(10, 2, 0, 10), at: "b") == vmB, "straight to B")
    try rig.apply([Make.route("r", IPv4Prefix(IPv4Address(10, 2, 0, 10), 32), via: IPv4Address(10, 1, 0, 254))])
    #expect(destinationMAC(IPv4Address(10, 2, 0, 10), at: "c") == vmC, "a static /32 wins over B's adjacency")
  }

  @Test func routedPacketGetsTTLMinusOneChecksumAndMACs() throws {
    var rig = try routerRig()
    let f = routed()
    rig.ports[0].inject(f)
    rig.pump()
    let out = try #require(rig.ports[1].drainCaptured().first)
    var expected = f
    expected.withUnsafeMutableBytes { p in
      p.baseAddress!.storeMAC(vmB, at: 0)
      p.baseAddress!.storeMAC(gw2, at: 6)
      let ip = IPv4Header(unchecked: p.baseAddress! + 14)
      ip.ttl = 63
      ip.fillChecksum()
    }
    #expect(out == expected)
  }

  @Test func ttlExpiryGivesTimeExceededQuotingTheOriginal() throws {
    var rig = try routerRig()
    let f = routed(ttl: 1)
    rig.ports[0].inject(f)
    rig.pump()
    #expect(rig.ports[1].drainCaptured().isEmpty)
    let e = try #require(rig.ports[0].drainCaptured().first)
    #expect(e.count == 14 + 20 + 8 + 86)
    var copy = e
    let n = e.count
    copy.withUnsafeMutableBytes { p in
      let b = p.baseAddress!
      #expect(b.loadMAC(at: 0) == vmA && b.loadMAC(at: 6) == gw1)
      let ip = try? IPv4Header(validating: b + 14, length: n - 14)
      #expect(ip?.checksumIsValid == true && ip?.source == IPv4Address(10, 1, 0, 1) && ip?.destination == IPv4Address(10, 1, 0, 10))
      #expect(ip?.proto == IPProtocol.icmp && ip?.totalLength == UInt16(20 + 8 + 86))
      let icmp = ICMPv4Header(unchecked: b + 34)
      #expect(icmp.type == 11 && icmp.code == 0 && icmp.checksumIsValid(length: 8 + 86))
    }
    #expect(Array(e[42...]) == Array(f[14..<100]))     // the original datagram, unchanged (TTL still 1)
    #expect(drops(rig, .ip4Lookup, .ip4TTLExpired) == 1)
  }

  @Test func tooBigWithDFGetsFragmentationNeededWithTheMTU() throws {
    var rig = try routerRig()
    rig.ports[0].inject(routed(length: 1414 + 14 - 14 + 1, df: true))      // IP length 1401 > 1400
    rig.ports[0].inject(routed(length: 1414, df: true))                     // IP length 1400: fits
    rig.ports[0].inject(routed(length: 1416, df: false))                    // too big, no DF: dropped
    rig.pump()
    #expect(rig.ports[1].drainCaptured().map(\.count) == [1414])
    let e = try #require(rig.ports[0].drainCaptured().first)
    #expect(e[34] == 3 && e[35] == 4 && UInt16(e[40]) << 8 | UInt16(e[41]) == 1400)
    #expect(drops(rig, .ip4Lookup, .ip4FragmentationNeeded) == 1)
    #expect(drops(rig, .ip4Lookup, .ip4FragmentationUnsupported) == 1)
  }

  @Test func gatewayAnswersEchoAndNoRouteAnswersUnreachable() throws {
    var rig = try routerRig()
    rig.ports[0].inject(routed(to: IPv4Address(10, 1, 0, 1), proto: IPProtocol.icmp))
    rig.ports[0].inject(routed(to: IPv4Address(10, 9, 9, 9)))
    rig.pump()
    let replies = rig.ports[0].drainCaptured()
    #expect(replies.count == 2)
    #expect(replies.first.map { $0[34] == 0 && Array($0[26..<30]) == [10, 1, 0, 1] && Array($0[30..<34]) == [10, 1, 0, 10] } == true)
    #expect(replies.last.map { $0[34] == 3 && $0[35] == 0 } == true)
    #expect(drops(rig, .ip4Lookup, .ip4NoRoute) == 1)
  }

  /// The router's own addresses are receive entries of its FIB: an echo to any of them is
  /// answered even with TTL 1 (it is not forwarded: RFC 1812 §5.3.1 expires forwarded
  /// packets only), also to the gateway of the other network; a route the operator adds
  /// for a router address never takes it away.
  @Test func theRoutersOwnAddressesAreReceivedWhateverTheTTL() throws {
    var rig = try routerRig()
    try rig.apply([Make.route("r", IPv4Prefix(IPv4Address(10, 2, 0, 1), 32), via: IPv4Address(10, 1, 0, 10))])
    rig.ports[0].inject(routed(ttl: 1, to: IPv4Address(10, 1, 0, 1), proto: IPProtocol.icmp))
    rig.ports[0].inject(routed(ttl: 1, to: IPv4Address(10, 2, 0, 1), proto: IPProtocol.icmp))
    rig.ports[0].inject(routed(ttl: 1, to: IPv4Address(10, 2, 0, 10), proto: IPProtocol.icmp))    // forwarded: expires
    rig.pump()
    let replies = rig.ports[0].drainCaptured()
    #expect(replies.count == 3)
    #expect(replies.prefix(2).map { [$0[34], $0[29]] } == [[0, 1], [0, 1]] && replies.prefix(2).map { $0[27] } == [1, 2])
    #expect(replies.last.map { $0[34] == 11 && $0[35] == 0 } == true)
    #expect(drops(rig, .ip4Lookup, .ip4TTLExpired) == 1 && rig.ports[1].drainCaptured().isEmpty)
  }

  @Test func noErrorAboutAnErrorAndErrorsAreRateLimited() throws {
    var rig = try routerRig()
    rig.ports[0].inject(routed(ttl: 1, proto: IPProtocol.icmp, icmpType: 3))
    rig.pump()
    #expect(rig.ports[0].drainCaptured().isEmpty)
    #expect(drops(rig, .icmpError, .icmpErrorSuppressed) == 1)
    for _ in 0..<300 { rig.ports[0].inject(routed(ttl: 1)) }
    rig.pump()
    let sent = rig.ports[0].drainCaptured().count
    #expect(sent >= 100 && sent < 300, "\(sent)")
    #expect(drops(rig, .icmpError, .icmpErrorRateLimited) == UInt64(300 - sent))
    #expect(rig.worker.pool.available == rig.worker.pool.capacity)
  }
}
