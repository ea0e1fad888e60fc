import Compiler
import Control
import Fixtures
import IO
import Pipeline
import Testing
import Wire

// Requests in, packets out, across two nodes: both compiled from the same cloud (each with
// its own view: its ports local, the other's remote), the frames one node's underlay sends
// injected into the other's. The whole DVR path without root or kernel.

let dvr1 = MACAddress(0xfa, 0x16, 0x3f, 0, 0, 1), dvr2 = MACAddress(0xfa, 0x16, 0x3f, 0, 0, 2)
let vtep1 = IPv4Address(10, 9, 0, 1), vtep2 = IPv4Address(10, 9, 0, 2)
let ul1 = MACAddress(2, 0, 0, 0, 9, 1), ul2 = MACAddress(2, 0, 0, 0, 9, 2)
let ipA = IPv4Address(10, 1, 0, 10), ipB = IPv4Address(10, 2, 0, 10)

/// The cloud: router r joins n1 (10.1.0.0/24, VNI 100) and n2 (10.2.0.0/24, VNI 200); VM a on
/// n1 lives on node 1, VM b on n2 on node 2. `here` is the node this view is for.
func dvrCloud(here: Int) throws -> Rig {
  let (myIP, myMAC, myDVR, otherIP, otherMAC, otherDVR) = here == 1 ? (vtep1, ul1, dvr1, vtep2, ul2, dvr2) : (vtep2, ul2, dvr2, vtep1, ul1, dvr1)
  var node = NodeFacts(tunnelIP: myIP, dvrHostMAC: myDVR)
  node.underlay = .init(mac: myMAC, localIP: myIP, prefixLength: 24)
  node.underlayNeighbors = [otherIP: otherMAC]
  return try Rig([Make.network("n1", vni: 100), Make.network("n2", vni: 200), Make.chassis(otherIP, dvrMAC: otherDVR), Make.router("r"),
                  Make.interface("r", "n1", IPv4Address(10, 1, 0, 1), 24, mac: gw1), Make.interface("r", "n2", IPv4Address(10, 2, 0, 1), 24, mac: gw2),
                  Make.port("a", on: "n1", mac: vmA, ips: [ipA], remote: here == 1 ? nil : vtep1),
                  Make.port("b", on: "n2", mac: vmB, ips: [ipB], remote: here == 2 ? nil : vtep2)],
                 node: node, names: [here == 1 ? "a" : "b", "underlay"])
}

@Suite struct TwoNodeFixtureTests {
  @Test func eastWestIsRoutedOnTheSourceNodeAndDeliveredWithTheGatewayMAC() throws {
    var node1 = try dvrCloud(here: 1), node2 = try dvrCloud(here: 2)
    let request = udpFrame(dst: gw1, src: vmA, from: ipA, to: ipB, sport: 4000, length: 120)
    node1.port("a").inject(request)
    node1.pump()
    // Routed on node 1: over VXLAN on the destination network's VNI, from node 1's DVR MAC.
    let outer = try #require(node1.port("underlay").drainCaptured().first)
    #expect(Array(outer[0..<6]) == ul2.bytes && Array(outer[6..<12]) == ul1.bytes)
    #expect(ipAt(outer, 26) == vtep1 && ipAt(outer, 30) == vtep2)
    #expect(be16(outer, 36) == 4789)
    #expect(UInt32(outer[46]) << 16 | UInt32(outer[47]) << 8 | UInt32(outer[48]) == 200)
    let inner = Array(outer[50...])
    #expect(Array(inner[0..<6]) == vmB.bytes && Array(inner[6..<12]) == dvr1.bytes)
    #expect(inner[22] == 63)                          // TTL − 1, once, on the source node
    #expect(checksumsValid(inner))

    // Node 2 decapsulates, restores the router's MAC on n2 as source and delivers.
    node2.port("underlay").inject(outer)
    node2.pump()
    let delivered = try #require(node2.port("b").drainCaptured().first)
    var expected = inner
    expected.replaceSubrange(6..<12, with: gw2.bytes)
    #expect(delivered == expected)
    #expect(node2.worker.graph.counters.packets(.errorDrop) == 0)

    // The reply takes the mirror path: routed on node 2, delivered on node 1 from gw1.
    let reply = udpFrame(dst: gw2, src: vmB, from: ipB, to: ipA, sport: 53, dport: 4000, length: 100)
    node2.port("b").inject(reply)
    node2.pump()
    let back = try #require(node2.port("underlay").drainCaptured().first)
    #expect(UInt32(back[46]) << 16 | UInt32(back[47]) << 8 | UInt32(back[48]) == 100)
    node1.port("underlay").inject(back)
    node1.pump()
    let got = try #require(node1.port("a").drainCaptured().first)
    #expect(Array(got[0..<6]) == vmA.bytes && Array(got[6..<12]) == gw1.bytes && got[22] == 63)
    #expect(node1.worker.pool.available == node1.worker.pool.capacity)
  }

  @Test func aPortThatMovesKeepsEveryOtherIndexAndIsReachedAtItsNewNode() throws {
    var node1 = try dvrCloud(here: 1)
    let before = node1.compiled.assignment
    // b moves from node 2 to a third node; a new network appears; nothing else changes.
    let vtep3 = IPv4Address(10, 9, 0, 3)
    try node1.apply([.portUpdate(id: "b", location: .remote(vtep3), fixedIPs: nil, portSecurity: nil), Make.network("n3", vni: 300)]) {
      $0.underlayNeighbors[vtep3] = MACAddress(2, 0, 0, 0, 9, 3)
    }
    let after = node1.compiled.assignment
    #expect(after.domains["n1"] == before.domains["n1"] && after.domains["n2"] == before.domains["n2"])
    #expect(after.interfaces.index == before.interfaces.index)
    #expect(after.vrfs.index == before.vrfs.index && after.fib.index == before.fib.index)
    #expect(after.tunnels[vtep2] == nil && after.tunnels[vtep3] != nil)
    node1.port("a").inject(udpFrame(dst: gw1, src: vmA, from: ipA, to: ipB, sport: 4000))
    node1.pump()
    let outer = try #require(node1.port("underlay").drainCaptured().first)
    #expect(ipAt(outer, 30) == vtep3)
  }
}

extension MACAddress {
  /// The six bytes, in wire order.
  var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) } }
}
