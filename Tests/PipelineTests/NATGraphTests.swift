import Buffers
import Compiler
import Control
import Fixtures
import IO
import Pipeline
import Tables
import Testing
import Wire

// The north-south nodes on memory ports: external-input, external-arp, ip4-external,
// fip-snat, fip-dnat, snat-in2out, snat-out2in.

let uplinkMAC = MACAddress(0x02, 0, 0, 0, 0x0e, 1), upstreamMAC = MACAddress(0x02, 0, 0, 0, 0, 0xfe)
let gatewayPortMAC = MACAddress(0xfa, 0x16, 0x3e, 0xee, 0, 1)
let vmNAT = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 10), vmFIP = MACAddress(0xfa, 0x16, 0x3e, 1, 0, 11)
let snatIP = IPv4Address(192, 0, 2, 1), fipIP = IPv4Address(192, 0, 2, 5), upstreamIP = IPv4Address(192, 0, 2, 254)
let remoteHost = IPv4Address(198, 51, 100, 1)

/// Port 0: VM 10.1.0.10 (no floating IP), port 1: VM 10.1.0.11 (floating IP 192.0.2.5),
/// port 2: the uplink. One router (gateway 10.1.0.1) with an external gateway 192.0.2.1/24 whose
/// SNAT runs here (this node is a network node), ports 1024…`portHigh`; the upstream
/// 192.0.2.254 is resolved.
func natRig(portHigh: UInt16 = 1030, timeouts: NATTimeouts = NATTimeouts(), mtu: Int = 1500, uplinkMTU: Int = 1500,
            workers: Int = 1) throws -> Rig {
  var node = NodeFacts.testNode
  node.role = .network
  node.uplink = .init(mac: uplinkMAC, mtu: uplinkMTU)
  node.upstreamNeighbors = [upstreamIP: upstreamMAC]
  return try Rig([Make.network("n1", vni: 1, mtu: mtu), Make.router("r"), Make.interface("r", "n1", IPv4Address(10, 1, 0, 1), 24, mac: gw1),
                  Make.port("nat", on: "n1", mac: vmNAT, ips: [IPv4Address(10, 1, 0, 10)]),
                  Make.port("fip", on: "n1", mac: vmFIP, ips: [IPv4Address(10, 1, 0, 11)]),
                  Make.gateway("r", ExternalGateway(externalIP: snatIP, prefixLength: 24, upstream: upstreamIP, mac: gatewayPortMAC,
                                                    snatNode: node.tunnelIP, portLow: 1024, portHigh: Int(portHigh))),
                  Make.floatingIP(fipIP, port: "fip", fixedIP: IPv4Address(10, 1, 0, 11))],
                 node: node, names: ["nat", "fip", "uplink"], sessions: SessionTable(capacity: 4096, timeouts: timeouts), workers: workers)
}

/// An IPv4 frame with a TCP, UDP or ICMP header and correct checksums.
func l4Frame(dst: MACAddress, src: MACAddress, from: IPv4Address, to: IPv4Address, proto: UInt8, sport: UInt16, dport: UInt16,
             ttl: UInt8 = 64, icmpType: UInt8 = 8, payload: [UInt8] = Array(0..<24)) -> [UInt8] {
  let l4Length = (proto == IPProtocol.tcp ? 20 : 8) + payload.count
  var b = frame(dst: dst, src: src, length: 34 + l4Length, fill: 0)
  b.withUnsafeMutableBytes { p in
    let f = p.baseAddress!
    f.storeU8(0x45, at: 14)
    let ip = IPv4Header(unchecked: f + 14)
    ip.totalLength = UInt16(20 + l4Length)
    ip.ttl = ttl
    ip.proto = proto
    ip.source = from
    ip.destination = to
    ip.fillChecksum()
    let l4 = f + 34
    let body = proto == IPProtocol.tcp ? 20 : 8
    for (i, byte) in payload.enumerated() { l4.storeU8(byte, at: body + i) }
    switch proto {
    case IPProtocol.tcp:
      l4.storeBE16(sport, at: 0); l4.storeBE16(dport, at: 2); l4.storeU8(0x50, at: 12); l4.storeU8(0x02, at: 13)
      TCPHeader(unchecked: l4).fillChecksum(pseudoHeaderSum: ip.pseudoHeaderSum, segmentLength: l4Length)
    case IPProtocol.udp:
      l4.storeBE16(sport, at: 0); l4.storeBE16(dport, at: 2); l4.storeBE16(UInt16(l4Length), at: 4)
      UDPHeader(unchecked: l4).fillChecksum(pseudoHeaderSum: ip.pseudoHeaderSum)
    default:
      l4.storeU8(icmpType, at: 0); l4.storeBE16(sport, at: 4); l4.storeBE16(dport, at: 6)
      ICMPv4Header(unchecked: l4).fillChecksum(length: l4Length)
    }
  }
  return b
}

/// An ICMP error (`type`/`code`) from `from` to `to`, quoting the IPv4 datagram of `original`.
func icmpError(dst: MACAddress, src: MACAddress, from: IPv4Address, to: IPv4Address, type: UInt8, code: UInt8, quoting original: [UInt8]) -> [UInt8] {
  let quote = Array(original[14...])
  var f = l4Frame(dst: dst, src: src, from: from, to: to, proto: IPProtocol.icmp, sport: 0, dport: 0, icmpType: type, payload: quote)
  f[35] = code
  f.withUnsafeMutableBytes { p in ICMPv4Header(unchecked: p.baseAddress! + 34).fillChecksum(length: 8 + quote.count) }
  return f
}

/// Every checksum of a frame verifies: IPv4, TCP/UDP, ICMP, and an ICMP error's quote
/// (its IPv4 header; its UDP/TCP checksum over the quoted bytes when the quote is whole).
func checksumsValid(_ f: [UInt8]) -> Bool {
  var copy = f
  return copy.withUnsafeMutableBytes { p -> Bool in
    let b = p.baseAddress!
    guard let ip = try? IPv4Header(validating: b + 14, length: f.count - 14), ip.checksumIsValid else { return false }
    return l4Valid(ip)
  }
}

func l4Valid(_ ip: IPv4Header) -> Bool {
  let n = ip.payloadLength
  switch ip.proto {
  case IPProtocol.tcp: return TCPHeader(unchecked: ip.payload).checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum, segmentLength: n)
  case IPProtocol.udp: return UDPHeader(unchecked: ip.payload).checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum)
  default:
    let icmp = ICMPv4Header(unchecked: ip.payload)
    guard icmp.checksumIsValid(length: n) else { return false }
    guard ICMPv4Header.MessageType.isError(icmp.type) else { return true }
    let inner = IPv4Header(unchecked: icmp.payload)
    return inner.checksumIsValid && l4Valid(inner)
  }
}

func be16(_ f: [UInt8], _ at: Int) -> UInt16 { UInt16(f[at]) << 8 | UInt16(f[at + 1]) }
func ipAt(_ f: [UInt8], _ at: Int) -> IPv4Address { IPv4Address(f[at], f[at + 1], f[at + 2], f[at + 3]) }

@Suite struct NATGraphTests {
  @Test func floatingIPOutAndInTranslatesOneToOneWithEveryChecksum() throws {
    var rig = try natRig()
    let out = l4Frame(dst: gw1, src: vmFIP, from: IPv4Address(10, 1, 0, 11), to: remoteHost, proto: IPProtocol.udp, sport: 5000, dport: 53)
    rig.ports[1].inject(out)
    rig.pump()
    let sent = try #require(rig.ports[2].drainCaptured().first)
    #expect(sent.count == out.count && checksumsValid(sent))
    #expect(Array(sent[0..<6]) == upstreamMAC.octets && Array(sent[6..<12]) == uplinkMAC.octets)
    #expect(ipAt(sent, 26) == fipIP && ipAt(sent, 30) == remoteHost && sent[22] == 63)
    #expect(be16(sent, 34) == 5000 && be16(sent, 36) == 53)   // 1:1: ports unchanged

    rig.ports[2].inject(l4Frame(dst: uplinkMAC, src: upstreamMAC, from: remoteHost, to: fipIP, proto: IPProtocol.tcp, sport: 443, dport: 8080))
    rig.pump()
    let delivered = try #require(rig.ports[1].drainCaptured().first)
    #expect(checksumsValid(delivered))
    #expect(Array(delivered[0..<6]) == vmFIP.octets && Array(delivered[6..<12]) == gw1.octets)
    #expect(ipAt(delivered, 30) == IPv4Address(10, 1, 0, 11) && ipAt(delivered, 26) == remoteHost && delivered[22] == 63)
    #expect(rig.ports[0].drainCaptured().isEmpty)
    #expect(rig.worker.sessions.live == 0)    // floating IPs are stateless
  }

  @Test func icmpErrorToAFloatingIPHasItsQuoteTranslated() throws {
    var rig = try natRig()
    // What the VM sent, as it left: 203.0.113.5:5000 → 198.51.100.1:33434, TTL 1.
    let left = l4Frame(dst: upstreamMAC, src: uplinkMAC, from: fipIP, to: remoteHost, proto: IPProtocol.udp, sport: 5000, dport: 33434, ttl: 1)
    for (type, code) in [(UInt8(11), UInt8(0)), (3, 3)] {
      rig.ports[2].inject(icmpError(dst: uplinkMAC, src: upstreamMAC, from: IPv4Address(198, 51, 100, 254), to: fipIP, type: type, code: code,
                                    quoting: left))
    }
    rig.pump()
    let got = rig.ports[1].drainCaptured()
    #expect(got.count == 2)
    for e in got {
      #expect(checksumsValid(e), "checksums of \(e)")
      #expect(ipAt(e, 30) == IPv4Address(10, 1, 0, 11))
      #expect(ipAt(e, 42 + 12) == IPv4Address(10, 1, 0, 11) && ipAt(e, 42 + 16) == remoteHost)   // quoted source translated back
      #expect(be16(e, 62) == 5000)
    }
  }

  @Test func snatTranslatesBothWaysAndTracksTheSession() throws {
    var rig = try natRig()
    rig.ports[0].inject(l4Frame(dst: gw1, src: vmNAT, from: IPv4Address(10, 1, 0, 10), to: remoteHost, proto: IPProtocol.udp, sport: 4000, dport: 53))
    rig.pump()
    let sent = try #require(rig.ports[2].drainCaptured().first)
    #expect(checksumsValid(sent))
    #expect(Array(sent[0..<6]) == upstreamMAC.octets && Array(sent[6..<12]) == gatewayPortMAC.octets)
    #expect(ipAt(sent, 26) == snatIP && sent[22] == 63)
    let port = be16(sent, 34)
    #expect((1024...1030).contains(port))
    #expect(rig.worker.sessions.live == 1)

    rig.ports[2].inject(l4Frame(dst: gatewayPortMAC, src: upstreamMAC, from: remoteHost, to: snatIP, proto: IPProtocol.udp, sport: 53, dport: port))
    // An ICMP error about the session's packet (as it left) comes back translated too.
    rig.ports[2].inject(icmpError(dst: gatewayPortMAC, src: upstreamMAC, from: IPv4Address(198, 51, 100, 254), to: snatIP, type: 11, code: 0,
                                  quoting: sent))
    // Unsolicited: another port, and another remote.
    rig.ports[2].inject(l4Frame(dst: gatewayPortMAC, src: upstreamMAC, from: remoteHost, to: snatIP, proto: IPProtocol.udp, sport: 53, dport: port &+ 1))
    rig.ports[2].inject(l4Frame(dst: gatewayPortMAC, src: upstreamMAC, from: IPv4Address(198, 51, 100, 2), to: snatIP, proto: IPProtocol.udp, sport: 53, dport: port))
    rig.pump()
    let back = rig.ports[0].drainCaptured()
    #expect(back.count == 2)
    #expect(back.allSatisfy(checksumsValid))
    #expect(back.first.map { ipAt($0, 30) == IPv4Address(10, 1, 0, 10) && be16($0, 36) == 4000 && Array($0[0..<6]) == vmNAT.octets } == true)
    #expect(back.last.map { ipAt($0, 30) == IPv4Address(10, 1, 0, 10) && ipAt($0, 54) == IPv4Address(10, 1, 0, 10) && be16($0, 62) == 4000 } == true)
    #expect(drops(rig, .snatOut2In, .snatNoSession) == 2)
    let s = try #require(rig.worker.sessions.allSessions().first)
    #expect(s.insidePort == 4000 && s.externalPort == port && s.packetsIn2Out == 1 && s.packetsOut2In == 1)
  }

  /// A packet towards the external network whose TTL would reach 0 expires at the router
  /// (traceroute's first hop), through SNAT and floating IP alike; nothing leaves the uplink.
  @Test func expiringTTLTowardsTheInternetGetsTimeExceededFromTheRouter() throws {
    var rig = try natRig()
    rig.ports[0].inject(l4Frame(dst: gw1, src: vmNAT, from: IPv4Address(10, 1, 0, 10), to: remoteHost, proto: IPProtocol.udp, sport: 4000,
                                dport: 33434, ttl: 1))
    rig.ports[1].inject(l4Frame(dst: gw1, src: vmFIP, from: IPv4Address(10, 1, 0, 11), to: remoteHost, proto: IPProtocol.udp, sport: 4000,
                                dport: 33434, ttl: 1))
    rig.pump()
    #expect(rig.ports[2].drainCaptured().isEmpty)
    for k in 0..<2 {
      let e = try #require(rig.ports[k].drainCaptured().first)
      #expect(checksumsValid(e) && e[34] == 11 && e[35] == 0 && ipAt(e, 26) == IPv4Address(10, 1, 0, 1), "time exceeded from the gateway")
    }
    #expect(drops(rig, .ip4Lookup, .ip4TTLExpired) == 2 && rig.worker.sessions.live == 0)
  }

  @Test func snatEchoUsesTheIdentifierAsPort() throws {
    var rig = try natRig()
    rig.ports[0].inject(l4Frame(dst: gw1, src: vmNAT, from: IPv4Address(10, 1, 0, 10), to: remoteHost, proto: IPProtocol.icmp, sport: 77, dport: 1))
    rig.pump()
    let sent = try #require(rig.ports[2].drainCaptured().first)
    #expect(checksumsValid(sent) && ipAt(sent, 26) == snatIP)
    let id = be16(sent, 38)
    rig.ports[2].inject(l4Frame(dst: gatewayPortMAC, src: upstreamMAC, from: remoteHost, to: snatIP, proto: IPProtocol.icmp, sport: id, dport: 1, icmpType: 0))
    rig.pump()
    let reply = try #require(rig.ports[0].drainCaptured().first)
    #expect(checksumsValid(reply) && be16(reply, 38) == 77 && reply[34] == 0)
  }

  @Test func exhaustedPortRangeDropsNewFlowsOnlyAndCountsThem() throws {
    var rig = try natRig(portHigh: 1026)    // three ports
    for sport in UInt16(4000)..<4004 {
      rig.ports[0].inject(l4Frame(dst: gw1, src: vmNAT, from: IPv4Address(10, 1, 0, 10), to: remoteHost, proto: IPProtocol.tcp, sport: sport, dport: 80))
    }
    rig.pump()
    let sent = rig.ports[2].drainCaptured()
    #expect(sent.count == 3 && Set(sent.map { be16($0, 34) }) == [1024, 1025, 1026])
    #expect(drops(rig, .snatIn2Out, .snatPortsExhausted) == 1)
    #expect(rig.worker.sessions.stat(.portsExhausted) == 1)
    // Existing flows keep working; another remote endpoint still gets ports.
    rig.ports[0].inject(l4Frame(dst: gw1, src: vmNAT, from: IPv4Address(10, 1, 0, 10), to: remoteHost, proto: IPProtocol.tcp, sport: 4001, dport: 80))
    rig.ports[0].inject(l4Frame(dst: gw1, src: vmNAT, from: IPv4Address(10, 1, 0, 10), to: remoteHost, proto: IPProtocol.tcp, sport: 4003, dport: 81))
    rig.pump()
    #expect(rig.ports[2].drainCaptured().count == 2)
    #expect(drops(rig, .snatIn2Out, .snatPortsExhausted) == 1)
  }

  @Test func tcpStateDrivesTimeoutsAndExpiryRemovesSessions() throws {
    let t = NATTimeouts(tcpEstablished: 100, tcpTransitory: 5, udp: 10, icmp: 3)
    var rig = try natRig(timeouts: t)
    rig.ports[0].inject(l4Frame(dst: gw1, src: vmNAT, from: IPv4Address(10, 1, 0, 10), to: remoteHost, proto: IPProtocol.tcp, sport: 4000, dport: 80))
    rig.pump()
    let syn = try #require(rig.ports[2].drainCaptured().first)
    var synAck = l4Frame(dst: gatewayPortMAC, src: upstreamMAC, from: remoteHost, to: snatIP, proto: IPProtocol.tcp, sport: 80, dport: be16(syn, 34))
    synAck[47] = 0x12
    synAck.withUnsafeMutableBytes { p in
      let ip = IPv4Header(unchecked: p.baseAddress! + 14)
      TCPHeader(unchecked: ip.payload).fillChecksum(pseudoHeaderSum: ip.pseudoHeaderSum, segmentLength: ip.payloadLength)
    }
    rig.ports[2].inject(synAck)
    rig.pump()
    #expect(rig.ports[0].drainCaptured().count == 1)
    let table = rig.worker.sessions
    let s = try #require(table.allSessions().first)
    #expect(TCPState.isEstablished(s.tcp) && table.timeout(s) == 100 && TCPState.name(s.tcp) == "established")
    #expect(table.expire(now: s.lastSeen &+ 50, budget: table.capacity) == 0)
    #expect(table.expire(now: s.lastSeen &+ 101, budget: table.capacity) == 1)
    #expect(table.live == 0 && table.stat(.expired) == 1)
    // Gone: the reply no longer passes.
    rig.ports[2].inject(synAck)
    rig.pump()
    #expect(rig.ports[0].drainCaptured().isEmpty)
  }

  @Test func uplinkARPAnswersForHostedAddressesOnly() throws {
    var rig = try natRig()
    rig.ports[2].inject(arpFrame(src: upstreamMAC, senderIP: IPv4Address(203, 0, 113, 1), targetIP: fipIP))
    rig.ports[2].inject(arpFrame(src: upstreamMAC, senderIP: IPv4Address(203, 0, 113, 1), targetIP: snatIP))
    rig.ports[2].inject(arpFrame(src: upstreamMAC, senderIP: IPv4Address(203, 0, 113, 1), targetIP: IPv4Address(203, 0, 113, 99)))
    rig.pump()
    let replies = rig.ports[2].drainCaptured()
    #expect(replies.count == 2)
    #expect(replies.first.map { Array($0[6..<12]) == uplinkMAC.octets && Array($0[22..<28]) == uplinkMAC.octets && be16($0, 20) == 2 } == true)
    #expect(replies.last.map { Array($0[22..<28]) == gatewayPortMAC.octets && ipAt($0, 28) == snatIP } == true)
    #expect(drops(rig, .externalARP, .externalNotForUs) == 1)
    let events = rig.worker.events.drain()
    #expect(events.filter { $0.kind == .externalNeighbor && $0.key == UInt64(IPv4Address(203, 0, 113, 1).value) }.count == 3)
  }

  // ---- path MTU and ICMP towards the internet (issue 12)

  /// A frame with DF set (its IPv4 checksum refilled).
  func withDF(_ f: [UInt8]) -> [UInt8] {
    var b = f
    b[20] |= 0x40
    b.withUnsafeMutableBytes { IPv4Header(unchecked: $0.baseAddress! + 14).fillChecksum() }
    return b
  }

  /// An ICMP error's checksums (IPv4, ICMP over the whole message, the quoted IPv4 header);
  /// the quoted L4 checksum is not checkable when the quote is cut at 576 bytes.
  func errorChecksumsValid(_ f: [UInt8]) -> Bool {
    var copy = f
    return copy.withUnsafeMutableBytes { p -> Bool in
      guard let ip = try? IPv4Header(validating: p.baseAddress! + 14, length: f.count - 14), ip.checksumIsValid,
            ip.proto == IPProtocol.icmp else { return false }
      let icmp = ICMPv4Header(unchecked: ip.payload)
      return icmp.checksumIsValid(length: ip.payloadLength) && IPv4Header(unchecked: icmp.payload).checksumIsValid
    }
  }

  /// The ICMP error the uplink sent: (type, code, MTU field, source, destination, quoted
  /// destination), after checking every checksum and the MACs.
  func externalError(_ rig: borrowing Rig) throws -> (UInt8, UInt8, UInt16, IPv4Address, IPv4Address, IPv4Address) {
    let f = try #require(rig.ports[2].drainCaptured().first)
    #expect(errorChecksumsValid(f))
    #expect(f.count <= 14 + 576)
    #expect(Array(f[0..<6]) == upstreamMAC.octets)
    return (f[34], f[35], be16(f, 40), ipAt(f, 26), ipAt(f, 30), ipAt(f, 42 + 16))
  }

  @Test func packetTooBigForAFloatingIPGetsFragmentationNeededFromTheRouter() throws {
    var rig = try natRig(mtu: 1400)
    let big = l4Frame(dst: uplinkMAC, src: upstreamMAC, from: remoteHost, to: fipIP, proto: IPProtocol.tcp, sport: 443, dport: 8080,
                      payload: [UInt8](repeating: 7, count: 1400))
    rig.ports[2].inject(withDF(big))
    rig.pump()
    let (type, code, mtu, src, dst, quotedDst) = try externalError(rig)
    #expect(type == 3 && code == 4 && mtu == 1400)
    #expect(src == snatIP && dst == remoteHost)
    #expect(quotedDst == fipIP, "the quote is the packet as the sender sent it")
    #expect(rig.ports[1].drainCaptured().isEmpty)
    #expect(rig.worker.graph.counters.drops(.fipDNAT, .ip4FragmentationNeeded) == 1)
    // Without DF: dropped, counted, no ICMP.
    rig.ports[2].inject(big)
    rig.pump()
    #expect(rig.ports[2].drainCaptured().isEmpty && rig.ports[1].drainCaptured().isEmpty)
    #expect(rig.worker.graph.counters.drops(.fipDNAT, .ip4FragmentationUnsupported) == 1)
  }

  @Test func expiringTTLTowardsAFloatingIPGetsTimeExceededFromTheRouter() throws {
    var rig = try natRig()
    rig.ports[2].inject(l4Frame(dst: uplinkMAC, src: upstreamMAC, from: remoteHost, to: fipIP, proto: IPProtocol.udp, sport: 33434,
                                dport: 33434, ttl: 1))
    rig.pump()
    let (type, code, _, src, dst, quotedDst) = try externalError(rig)
    #expect(type == 11 && code == 0 && src == snatIP && dst == remoteHost && quotedDst == fipIP)
  }

  @Test func theRoutersExternalIPAnswersEcho() throws {
    var rig = try natRig()
    rig.ports[2].inject(l4Frame(dst: gatewayPortMAC, src: upstreamMAC, from: remoteHost, to: snatIP, proto: IPProtocol.icmp, sport: 77,
                                dport: 1))
    rig.pump()
    let f = try #require(rig.ports[2].drainCaptured().first)
    #expect(checksumsValid(f) && f[34] == 0 && be16(f, 38) == 77)
    #expect(ipAt(f, 26) == snatIP && ipAt(f, 30) == remoteHost)
    #expect(Array(f[0..<6]) == upstreamMAC.octets && Array(f[6..<12]) == gatewayPortMAC.octets)
    #expect(rig.worker.sessions.live == 0)
  }

  @Test func packetTooBigForTheExternalNetworkGetsFragmentationNeededFromTheGateway() throws {
    var rig = try natRig(uplinkMTU: 1400)
    let big = l4Frame(dst: gw1, src: vmNAT, from: IPv4Address(10, 1, 0, 10), to: remoteHost, proto: IPProtocol.udp, sport: 5000,
                      dport: 53, payload: [UInt8](repeating: 1, count: 1420))
    rig.ports[0].inject(withDF(big))
    rig.pump()
    let f = try #require(rig.ports[0].drainCaptured().first)
    #expect(errorChecksumsValid(f) && f[34] == 3 && f[35] == 4 && be16(f, 40) == 1400)
    #expect(ipAt(f, 26) == IPv4Address(10, 1, 0, 1) && ipAt(f, 30) == IPv4Address(10, 1, 0, 10))
    #expect(rig.ports[2].drainCaptured().isEmpty)
    #expect(rig.worker.sessions.live == 0)
  }
}
