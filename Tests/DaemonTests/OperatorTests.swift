import Control
import Foundation
import TestSupport
import Testing

/// What an operator reads and types (issue 12): the network MTU follows the node's
/// underlay_mtu, `show state` is configuration only, `show node` is readable, `show sessions`
/// works, a SNAT node nobody knows is refused.
@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct OperatorTests {
  @Test func networkMTUFollowsTheNodesUnderlayAndTheShowsReadWell() throws {
    let c = try TestCloud(extraConfig: #""underlay_mtu": 9000"#)
    defer { c.destroy() }
    try c.addVM("a1", mac: "fa:16:3e:01:00:0a", ip: "10.1.0.10", mtu: 8950, gateway: "10.1.0.1")
    try c.addVM("b1", mac: "fa:16:3e:02:00:0a", ip: "10.2.0.10", mtu: 8950, gateway: "10.2.0.1")
    for vm in ["a1", "b1"] { try sh(["ip", "-n", c.host, "link", "set", c.vm(vm).hostIf, "mtu", "9000"]) }
    try c.start()
    try c.ctl("network create net-1 --tenant t --vni 101")
    try c.ctl("network create net-2 --tenant t --vni 102")
    try c.ctl("router create r1 --tenant t")
    try c.ctl("router interface-add r1 --network net-1 --address 10.1.0.1/24 --mac fa:16:3e:ff:01:00")
    try c.ctl("router interface-add r1 --network net-2 --address 10.2.0.1/24 --mac fa:16:3e:ff:02:00")
    try c.ctl("port create a1 --network net-1 --mac fa:16:3e:01:00:0a --ip 10.1.0.10 --local \(c.spec("a1"))")
    try c.ctl("port create b1 --network net-2 --mac fa:16:3e:02:00:0a --ip 10.2.0.10 --local \(c.spec("b1"))")

    let nets = try c.show("networks") as? [[String: Any]] ?? []
    #expect(nets.map { $0["mtu"] as? Int } == [8950, 8950], "\(nets)")
    #expect(nets.allSatisfy { $0["mtu_source"] as? String == "underlay_mtu" })
    // Routed, DF, 1828 bytes: over the 1450 a fixed default would give.
    #expect(try c.ping(from: "a1", "10.2.0.10", extra: ["-M", "do", "-s", "1800"]), "routed 1828-byte packet: \(c.log().suffix(300))")

    // show state: the configuration as persisted, nothing that changes with traffic.
    let state = try #require(try c.show("state") as? [String: Any])
    #expect(Set(state.keys) == ["generation", "networks", "ports", "fdb", "routers", "chassis", "floatingIPs", "securityGroups",
                                "securityLists", "flows", "routeTables", "lpgs", "drgs", "drgAttachments"], "\(state.keys)")
    let text = try c.ctl("show state")
    for runtime in ["rx_packets", "status", "learned", "sessions", "upstream_mac"] { #expect(!text.contains(runtime), "\(runtime)") }
    _ = try c.ping(from: "a1", "10.1.0.1")
    #expect(try c.ctl("show state") == text, "traffic changed show state")

    // show node: every key whole, nested values as indented lines, no Swift dictionaries.
    let node = try c.ctl("show node")
    #expect(node.contains("learning_refused_at_limit "), "\(node)")
    #expect(node.contains("underlay\n  configured"), "\(node)")
    #expect(!node.contains("[\"") && !node.contains("\":"), "\(node)")

    // show sessions is the op show.sessions; a compute node has none.
    let sessions = try c.ctl("show sessions")
    #expect(sessions.contains("ROUTER") || sessions == "(none)\n", "\(sessions)")

    // A SNAT node that is neither this node nor a chassis is refused, naming the fix.
    let refused = try c.ctl("gateway set r1 --external-ip 203.0.113.10/24 --upstream 203.0.113.1 --mac fa:16:3e:ee:00:01 "
                            + "--snat-node 192.0.2.99", check: false)
    #expect(refused.contains("192.0.2.99") && refused.contains("chassis"), "\(refused)")
    try c.ctl("chassis set --tunnel-ip 192.0.2.99 --dvr-mac fa:16:3f:00:00:99")
    try c.ctl("gateway set r1 --external-ip 203.0.113.10/24 --upstream 203.0.113.1 --mac fa:16:3e:ee:00:01 --snat-node 192.0.2.99")
    let inUse = try c.ctl("chassis delete --tunnel-ip 192.0.2.99", check: false)
    #expect(inUse.contains("SNAT node"), "\(inUse)")
  }
}
