import Foundation
import TestSupport
import Testing

// Capture and trace, end to end on the DVR cloud of DVRTests (two nodes, router r1, VMs a1
// and b1 on node 1, b2 and c2 on node 2): the kernel's ping is traced live on both nodes of
// a routed cross-node path, the same packet is run dry, dropped packets name their reason,
// and a capture's pcap holds exactly the filtered frames (read by tshark).

/// The node names of a trace reply's first packet, and its steps.
private func path(_ reply: [String: Any]) -> (nodes: [String], steps: [[String: Any]]) {
  let packets = reply["packets"] as? [[String: Any]] ?? []
  let steps = packets.first?["steps"] as? [[String: Any]] ?? []
  return (steps.map { $0["node"] as? String ?? "?" }, steps)
}

/// Waits until `trace show` on `node` has a packet whose last step is port-output or a drop.
private func tracedPacket(_ node: TestCloud, seconds: Double = 10) throws -> [String: Any] {
  let deadline = Date().addingTimeInterval(seconds)
  var reply: [String: Any] = [:]
  repeat {
    reply = try node.json(["trace", "show"])
    if let last = path(reply).steps.last, last["node"] as? String == "port-output" || last["drop"] != nil { return reply }
    usleep(100_000)
  } while Date() < deadline
  return reply
}

@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct ObserveTests {
  @Test func aPingIsTracedOnBothNodesAndTheDryRunTakesTheSamePath() throws {
    let c = try DVRCloud()
    defer { c.destroy() }
    #expect(try TestCloud.ping(namespace: c.ns("a1"), "10.3.0.20", count: 2), "the path works before tracing")
    try c.n1.ctl(words: ["trace", "start", "--port", "a1", "--filter", "icmp", "--count", "1"])
    try c.n2.ctl(words: ["trace", "start", "--port", "underlay", "--filter", "udp port 4789 and ether[50+23] = 1", "--count", "1"])
    #expect(try TestCloud.ping(namespace: c.ns("a1"), "10.3.0.20", count: 1))

    // Node 1: from a1 through routing to the VXLAN tunnel.
    let live1 = try tracedPacket(c.n1)
    let (nodes1, steps1) = path(live1)
    #expect(nodes1.first == "rx" && nodes1.last == "port-output", "\(nodes1)")
    #expect(["ethernet-input", "l2-input", "l2-forward", "ip4-input", "ip4-lookup", "vxlan-encap"].allSatisfy(nodes1.contains), "\(nodes1)")
    #expect(steps1.last?["out_port"] as? String == "underlay", "\(steps1.last ?? [:])")
    let lookup = steps1.first { $0["node"] as? String == "ip4-lookup" }
    #expect((lookup?["detail"] as? String ?? "").contains("10.3.0.0/24"), "the route used: \(lookup ?? [:])")
    #expect(steps1.allSatisfy { ($0["generation"] as? Int ?? 0) > 0 })
    #expect((steps1.last?["frame"] as? String ?? "").contains("VXLAN vni 103"), "\(steps1.last ?? [:])")

    // Node 2: from the underlay, decapsulated and delivered to c2.
    let (nodes2, steps2) = path(try tracedPacket(c.n2))
    #expect(nodes2.first == "rx" && nodes2.contains("vxlan-input") && nodes2.last == "port-output", "\(nodes2)")
    #expect(steps2.last?["out_port"] as? String == "c2", "\(steps2.last ?? [:])")
    #expect((steps2.last?["frame"] as? String ?? "").contains("10.1.0.10 > 10.3.0.20"), "\(steps2.last ?? [:])")
    let text = try c.n2.ctl("trace show")
    #expect(text.contains("vxlan-input") && text.contains("sent on c2"), "\(text)")

    // The dry run of the same packet takes the same path, and would send it into the tunnel.
    let dry = try c.n1.json(["trace", "packet", "--port", "a1", "ip 10.1.0.10 > 10.3.0.20 icmp"])
    #expect(dry["state"] as? String == "dry-run")
    #expect(path(dry).nodes == nodes1, "dry \(path(dry).nodes) vs live \(nodes1)")
    let outputs = dry["outputs"] as? [[String: Any]] ?? []
    #expect(outputs.count == 1 && outputs.first?["port"] as? String == "underlay", "\(outputs)")
    #expect((outputs.first?["frame"] as? String ?? "").contains("VXLAN vni 103"), "\(outputs)")

    // Dry runs that are dropped name the reason: no route (and the ICMP error that would go
    // back), a security rule, port security.
    let noRoute = try c.n1.json(["trace", "packet", "--port", "a1", "ip 10.1.0.10 > 10.77.0.1 icmp"])
    #expect(path(noRoute).steps.contains { $0["drop"] as? String == "ip4-no-route" }, "\(path(noRoute).steps)")
    #expect((noRoute["outputs"] as? [[String: Any]] ?? []).contains { ($0["frame"] as? String ?? "").contains("unreachable") })
    let noRouteDrops = try c.n1.drops("ip4-no-route")

    try c.n1.ctl("sg create web --tenant tenant-a")
    try c.n1.ctl("sg rule-add web --id app --direction ingress --protocol tcp --port 5001 --remote-cidr 10.1.0.0/24")
    try c.n1.ctl("port update b1 --security-group web")
    let denied = try c.n1.json(["trace", "packet", "--port", "a1", "ip 10.1.0.10 > 10.2.0.10 tcp 40000 > 22 flags S"])
    #expect(path(denied).steps.last?["drop"] as? String == "acl-ingress-deny", "\(path(denied).steps)")
    let admitted = try c.n1.json(["trace", "packet", "--port", "a1", "ip 10.1.0.10 > 10.2.0.10 tcp 40000 > 5001 flags S"])
    #expect(path(admitted).steps.last?["out_port"] as? String == "b1", "\(path(admitted).steps)")
    #expect(try c.n1.ctl(words: ["conntrack", "list"]).contains("40000") == false, "a dry run tracks no connection")

    // a1's MAC is fa:16:3e:01:00:0a; a frame from another source MAC is spoofed.
    let spoofed = "fa163eff0100" + "020000000bad" + "0800" + "4500001c0001400040010000" + "0a01000a" + "0a02000a" + "0800f7fe00010000"
    let s = try c.n1.json(["trace", "packet", "--port", "a1", "--frame", spoofed])
    #expect(path(s).steps.contains { $0["drop"] as? String == "l2-source-spoofed" }, "\(path(s).steps)")
    #expect(try c.n1.drops("ip4-no-route") == noRouteDrops && c.n1.drops("acl-ingress-deny") == 0 && c.n1.drops("l2-source-spoofed") == 0,
            "dry runs count no drop of the node")

    // Bad requests are named.
    let bad = try c.n1.ctl(words: ["trace", "start", "--port", "a1", "--filter", "icmp and and"], check: false)
    #expect(bad.contains("bad-filter"), "\(bad)")
    let remote = try c.n1.ctl(words: ["trace", "start", "--port", "c2"], check: false)
    #expect(remote.contains("not-local"), "\(remote)")
  }

  @Test func aCaptureHoldsExactlyTheFilteredFrames() throws {
    let c = try DVRCloud()
    defer { c.destroy() }
    let rx = "\(c.n1.dir)/a1-rx.pcap", tx = "\(c.n1.dir)/a1-tx.pcap"
    try c.n1.ctl(words: ["capture", "--port", "a1", "--direction", "rx", "--filter", "icmp[icmptype] = icmp-echo", "--count", "3",
                         "--write", rx, "--no-wait"])
    #expect(try TestCloud.ping(namespace: c.ns("a1"), "10.2.0.10", count: 5))
    let deadline = Date().addingTimeInterval(10)
    var status: [String: Any] = [:]
    repeat {
      status = try c.n1.json(["capture", "status"])
      if status["state"] as? String != "running" { break }
      usleep(100_000)
    } while Date() < deadline
    #expect(status["state"] as? String == "done" && status["written"] as? Int == 3, "\(status)")
    let requests = try sh(["tshark", "-r", rx, "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type"], stderr: false).out
    #expect(requests.split(separator: "\n").map(String.init) == Array(repeating: "10.1.0.10\t10.2.0.10\t8", count: 3), "\(requests)")

    // Sent to a1, while the ping runs (the command waits for its frames): the echo replies.
    let ping = Process()
    ping.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    ping.arguments = ["-s", "KILL", "20", "ip", "netns", "exec", c.ns("a1"), "ping", "-c", "6", "-i", "0.3", "10.2.0.10"]
    ping.standardOutput = FileHandle.nullDevice
    try ping.run()
    defer { if ping.isRunning { ping.terminate() } }
    let out = try c.n1.ctl(words: ["capture", "--port", "a1", "--direction", "tx", "--filter", "icmp", "--count", "2", "--seconds", "15",
                                   "--write", tx])
    #expect(out.contains("capture done") && out.contains("2 of 2 frames"), "\(out)")
    let replies = try sh(["tshark", "-r", tx, "-T", "fields", "-e", "eth.src", "-e", "icmp.type"], stderr: false).out
    #expect(replies.split(separator: "\n").map(String.init) == Array(repeating: "fa:16:3e:ff:01:00\t0", count: 2), "\(replies)")

    let bad = try c.n1.ctl(words: ["capture", "--port", "a1", "--filter", "tcp port", "--write", tx], check: false)
    #expect(bad.contains("bad-filter"), "\(bad)")
  }
}
