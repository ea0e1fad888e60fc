import Foundation
import TestSupport
import Testing

// Distributed virtual routing across two compute nodes: each node routes its own VMs'
// traffic (east-west on the source node) and tunnels it straight to the destination node.
// Peers are the kernel's ping, traceroute and TCP; checks are tshark captures and gannetctl.

/// Two nodes joined by an underlay, one router `r1` of tenant-a with three subnets
/// 10.{1,2,3}.0.0/24 (gateway .1, MAC fa:16:3e:ff:0N:00), VMs a1, b1 on node 1 and b2, c2 on
/// node 2, every node programmed with the whole picture (as Neutron's agents are).
struct DVRCloud {
  let n1: TestCloud
  let n2: TestCloud
  static let vms: [(id: String, net: Int, host: Int, node: Int)] = [("a1", 1, 10, 1), ("b1", 2, 10, 1), ("b2", 2, 20, 2), ("c2", 3, 20, 2)]

  init(c2MTU: Int = 1450) throws {
    n1 = try TestCloud(tunnelIP: "10.9.0.1", underlay: true)
    n2 = try TestCloud(tunnelIP: "10.9.0.2", underlay: true)
    try TestCloud.connectUnderlays(n1, n2)
    for v in Self.vms {
      try (v.node == 1 ? n1 : n2).addVM(v.id, mac: Self.mac(v.net, v.host), ip: "10.\(v.net).0.\(v.host)",
                                        mtu: v.id == "c2" ? c2MTU : 1450, gateway: "10.\(v.net).0.1")
    }
    try n1.start()
    try n2.start()
    for (node, here) in [(n1, 1), (n2, 2)] {
      for k in 1...3 { try node.ctl("network create net-\(k) --tenant tenant-a --vni \(100 + k)") }
      try node.ctl("router create r1 --tenant tenant-a")
      for k in 1...3 { try node.ctl("router interface-add r1 --network net-\(k) --address 10.\(k).0.1/24 --mac fa:16:3e:ff:0\(k):00") }
      try node.ctl("chassis set --tunnel-ip 10.9.0.1 --dvr-mac fa:16:3f:00:00:11")
      try node.ctl("chassis set --tunnel-ip 10.9.0.2 --dvr-mac fa:16:3f:00:00:12")
      for v in Self.vms {
        let location = v.node == here ? "--local \(node.spec(v.id))" : "--remote 10.9.0.\(v.node)"
        try node.ctl("port create \(v.id) --network net-\(v.net) --mac \(Self.mac(v.net, v.host)) --ip 10.\(v.net).0.\(v.host) \(location)")
      }
    }
    _ = try n1.resolvedTunnels()
    _ = try n2.resolvedTunnels()
  }

  static func mac(_ net: Int, _ host: Int) -> String { String(format: "fa:16:3e:%02x:00:%02x", net, host) }
  func ns(_ vm: String) -> String { (n1.vms[vm] ?? n2.vms[vm])!.ns }
  func destroy() { n1.destroy(); n2.destroy() }
}

@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct DVRTests {
  @Test func eastWestIsRoutedOnTheSourceNodeAndTunnelledStraightToTheDestination() throws {
    let c = try DVRCloud()
    defer { c.destroy() }
    // The gateway answers ARP and echo on every node.
    #expect(try TestCloud.ping(namespace: c.ns("a1"), "10.1.0.1"), "a1 -> its gateway")
    #expect(try TestCloud.ping(namespace: c.ns("c2"), "10.3.0.1"), "c2 -> its gateway on node 2")
    #expect(try TestCloud.ping(namespace: c.ns("a1"), "10.2.0.10"), "routed, same node")

    // Across nodes: what node 2's underlay receives from node 1, and what c2 receives.
    var atC2: [String] = []
    let underlay = try c.n1.capture(namespace: c.n2.host, interface: "ul0", filter: "vxlan", seconds: 6) { () throws in
      atC2 = try c.n2.capture(on: "c2", filter: "icmp.type == 8", seconds: 3) { () throws in
        #expect(try TestCloud.ping(namespace: c.ns("a1"), "10.3.0.20", count: 4), "routed, a1 (node 1) -> c2 (node 2)")
      }
      #expect(try TestCloud.ping(namespace: c.ns("a1"), "10.2.0.20"), "routed, a1 -> b2 (node 2)")
    }
    let fields = try sh(["tshark", "-r", "\(c.n1.dir)/cap-\(c.n2.host)-ul0.pcap", "-Y", "vxlan && icmp", "-T", "fields",
                         "-e", "eth.src", "-e", "vxlan.vni"], stderr: false).out
    let rows = fields.split(separator: "\n").map(String.init)
    #expect(rows.count >= 6, "\(rows)")
    // Outer source is node 1's underlay MAC, inner source node 1's DVR host MAC, never a gateway MAC.
    #expect(rows.allSatisfy { $0.contains("fa:16:3f:00:00:11") && !$0.contains("fa:16:3e:ff") }, "\(rows)")
    #expect(Set(rows.map { $0.split(separator: "\t").last.map(String.init) ?? "" }) == ["103", "102"], "VNIs: \(rows)")
    #expect(underlay.count >= 6)
    // Node 2 restored the gateway MAC before delivering to c2.
    let atC2Sources = try sh(["tshark", "-r", "\(c.n2.dir)/cap-\(c.n2.vms["c2"]!.ns)-eth0.pcap", "-Y", "icmp.type == 8",
                              "-T", "fields", "-e", "eth.src"], stderr: false).out
    #expect(atC2.count == 4)
    #expect(Set(atC2Sources.split(separator: "\n").map(String.init)) == ["fa:16:3e:ff:03:00"])

    // TCP across subnets, same node and other node.
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("a1"), toNamespace: c.ns("b1"), ip: "10.2.0.10"), "TCP a1 -> b1")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("c2"), toNamespace: c.ns("a1"), ip: "10.1.0.10"), "TCP c2 -> a1")

    // traceroute shows the gateway as the first hop, then the VM.
    let trace = try sh(["timeout", "-s", "KILL", "30", "ip", "netns", "exec", c.ns("a1"), "traceroute", "-n", "-w", "2", "-q", "1",
                        "-m", "4", "10.3.0.20"], check: false).out
    let hops = trace.split(separator: "\n").dropFirst().map { $0.split(separator: " ").map(String.init) }
    #expect(hops.count == 2 && hops[0].count > 1 && hops[0][1] == "10.1.0.1" && hops[1][1] == "10.3.0.20", "\(trace)")

    // No route: ICMP net unreachable from the gateway, counted.
    let noRoute = try sh(["ip", "netns", "exec", c.ns("a1"), "ping", "-c", "1", "-W", "2", "10.77.0.1"], check: false).out
    #expect(noRoute.contains("From 10.1.0.1") && noRoute.contains("Destination Net Unreachable"), "\(noRoute)")
    #expect(try c.n1.drops("ip4-no-route") >= 1)
    let routes = try c.n1.ctl("router show-route r1")
    #expect(routes.contains("10.3.0.0/24") && routes.contains("connected"))
  }

  /// A VM with a 1500-byte MTU on a 1450-byte network: a DF ping gets "fragmentation needed"
  /// with MTU 1450 from its gateway, and TCP finds the path MTU and completes.
  @Test func pathMTUDiscoveryAcrossTheOverlay() throws {
    let c = try DVRCloud(c2MTU: 1500)
    defer { c.destroy() }
    let big = try sh(["ip", "netns", "exec", c.ns("c2"), "ping", "-c", "2", "-M", "do", "-s", "1472", "-W", "2", "10.1.0.10"], check: false).out
    #expect(big.contains("From 10.3.0.1") && big.contains("mtu = 1450"), "\(big)")
    #expect(try c.n2.drops("ip4-fragmentation-needed") >= 1)
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("c2"), toNamespace: c.ns("a1"), ip: "10.1.0.10"), "TCP with PMTUD c2 -> a1")
  }

  /// Another tenant with the same CIDRs on the same nodes stays apart, and route changes
  /// while traffic flows do not disturb unaffected routes.
  @Test func tenantsWithIdenticalCIDRsStayIsolatedAndRouteChangesAreHitless() throws {
    let c = try DVRCloud()
    defer { c.destroy() }
    // Tenant B: router r2, net-x 10.1.0.0/24 (same CIDR, gateway, even the same VM address as a1).
    try c.n1.addVM("x1", mac: "fa:16:3e:00:aa:0a", ip: "10.1.0.10", mtu: 1450, gateway: "10.1.0.1")
    try c.n1.ctl("network create net-x --tenant tenant-b --vni 201")
    try c.n1.ctl("router create r2 --tenant tenant-b")
    try c.n1.ctl("router interface-add r2 --network net-x --address 10.1.0.1/24 --mac fa:16:3e:ff:01:00")
    try c.n1.ctl("port create x1 --network net-x --mac fa:16:3e:00:aa:0a --ip 10.1.0.10 --local \(c.n1.spec("x1"))")
    #expect(try c.n1.ping(from: "x1", "10.1.0.1"), "tenant B's own gateway")
    let before = try c.n1.drops("ip4-no-route")
    var seen: [String] = []
    let out = try c.n1.capture(on: "b1", filter: "icmp", seconds: 3) { () throws in
      seen = [try sh(["ip", "netns", "exec", c.n1.vms["x1"]!.ns, "ping", "-c", "2", "-W", "1", "10.2.0.10"], check: false).out]
    }
    #expect(out.isEmpty, "tenant A's b1 saw tenant B's packets: \(out)")
    #expect(seen.first?.contains("Destination Net Unreachable") == true, "\(seen)")
    #expect(try c.n1.drops("ip4-no-route") >= before + 2)
    let crossTenant = try c.n1.ctl("router interface-add r2 --network net-2 --address 10.2.0.1/24 --mac fa:16:3e:ff:02:00", check: false)
    #expect(crossTenant.contains("error (conflict)"), "\(crossTenant)")

    // Route changes on r1 while a1 pings b2 (another node): no loss.
    let pinger = Process()
    pinger.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    pinger.arguments = ["timeout", "-s", "KILL", "30", "ip", "netns", "exec", c.ns("a1"), "ping", "-c", "30", "-i", "0.1", "-W", "1", "-q",
                        "10.2.0.20"]
    let pipe = Pipe()
    pinger.standardOutput = pipe
    try pinger.runUnblocked()
    for k in 0..<5 {
      try c.n1.ctl("router route-add r1 --prefix 10.\(60 + k).0.0/16 --next-hop 10.3.0.20")
      usleep(150_000)   // pacing of the churn while the ping runs, not a wait for a condition
      try c.n1.ctl("router route-delete r1 --prefix 10.\(60 + k).0.0/16")
    }
    try c.n1.ctl("router route-add r1 --prefix 10.70.0.0/16 --next-hop 10.3.0.20")
    pinger.waitUntilExit()
    let summary = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(summary.contains(" 0% packet loss"), "\(summary)")
    // The new static route takes effect: 10.70.x goes to c2, which (not a router) answers nothing,
    // but the echo reaches c2 through r1.
    let viaRoute = try c.n2.capture(on: "c2", filter: "icmp && ip.dst == 10.70.0.5", seconds: 3) { () throws in
      _ = try sh(["ip", "netns", "exec", c.ns("a1"), "ping", "-c", "2", "-W", "1", "10.70.0.5"], check: false)
    }
    #expect(viaRoute.count == 2, "\(viaRoute)")
  }

  /// Security groups on DVR-routed traffic: the destination node checks its own port after
  /// the source node routed the packet; the reply crosses back as a tracked connection.
  @Test func securityGroupsFilterRoutedTrafficOnTheDestinationNode() throws {
    let c = try DVRCloud()
    defer { c.destroy() }
    for node in [c.n1, c.n2] {
      try node.ctl("sg create web --tenant tenant-a")
      try node.ctl("sg rule-add web --id app --direction ingress --protocol tcp --port 5001 --remote-cidr 10.1.0.0/24")
      try node.ctl("port update c2 --security-group web")
    }
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("a1"), toNamespace: c.ns("c2"), ip: "10.3.0.20", bytes: 300_000),
            "a1 (node 1, 10.1.0.0/24) -> c2:5001 (node 2) is admitted, and its replies pass back")
    #expect(try !TestCloud.ping(namespace: c.ns("a1"), "10.3.0.20", count: 2, extra: ["-W", "1"]), "no ICMP rule on c2")
    // b1 (10.2.0.10) is outside the rule's CIDR: its SYNs get no answer.
    let r = try sh(["timeout", "-s", "KILL", "10", "ip", "netns", "exec", c.ns("b1"), "python3", "-c", """
      import socket
      try:
          socket.create_connection(("10.3.0.20", 5001), timeout=2); print("connected")
      except socket.timeout: print("timeout")
      except OSError: print("refused")
      """], check: false).out
    #expect(r.contains("timeout"), "\(r)")
    #expect(try c.n2.drops("acl-ingress-deny") >= 1 && c.n1.drops("acl-ingress-deny") == 0, "denied on the destination node")
  }
}
