import Foundation
import TestSupport
import Testing

// North-south through gannetd: floating IPs on the compute node that hosts the port, SNAT on
// the network node. Two compute nodes and a network node share an underlay switch and an
// external network; the "upstream" namespace routes between the external network and the
// "internet" namespace. Peers are the kernel's ping, traceroute, TCP and UDP; checks are
// tshark captures, the upstream's neighbour table and gannetctl.

/// n1 (compute, 10.9.0.1): a1 10.1.0.10 (floating IP 203.0.113.20), b1 10.2.0.10;
/// n2 (compute, 10.9.0.2): c2 10.1.0.20; nn (network, 10.9.0.3): SNAT for router r1, external
/// IP 203.0.113.10, ports 40000–40002 (three, to exhaust them on purpose), short timeouts.
/// Upstream: 203.0.113.1 on the external bridge, 198.51.100.254 towards the internet host
/// 198.51.100.1.
struct NorthSouthCloud {
  let n1: TestCloud, n2: TestCloud, nn: TestCloud
  let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
  var fabric: String { "gnF\(tag)" }
  var upstream: String { "gnX\(tag)" }
  var internet: String { "gnI\(tag)" }
  static let vms: [(id: String, net: Int, ip: String, node: Int)] = [("a1", 1, "10.1.0.10", 1), ("b1", 2, "10.2.0.10", 1), ("c2", 1, "10.1.0.20", 2)]
  static let nat = #""nat": {"max_sessions": 65536, "udp_s": 10, "icmp_s": 10, "tcp_transitory_s": 3, "tcp_established_s": 20}"#

  /// `networkWorkers`, `networkDPDK`: the network node's workers and backend (DPDK's
  /// net_af_packet with one queue per worker and the control thread: the kernel's fanout
  /// spreads the underlay's and the uplink's input over every worker). `portRange`: r1's
  /// SNAT ports. `programmed` false: the nodes run with nothing configured (the cloud
  /// tests program them through etcd). `n1Metrics`: n1 serves its metrics on this port.
  init(networkWorkers: Int = 1, networkDPDK: Bool = false, portRange: String = "40000-40002", programmed: Bool = true,
       n1Metrics: Int? = nil) throws {
    n1 = try TestCloud(tunnelIP: "10.9.0.1", underlay: true, dvrMAC: "fa:16:3f:00:00:11", uplink: true,
                       extraConfig: n1Metrics.map { #""metrics": {"listen": "127.0.0.1:\#($0)"}"# } ?? "")
    n2 = try TestCloud(tunnelIP: "10.9.0.2", underlay: true, dvrMAC: "fa:16:3f:00:00:12", uplink: true)
    nn = try TestCloud(dpdk: networkDPDK, workers: networkWorkers, tunnelIP: "10.9.0.3", underlay: true, role: "network",
                       dvrMAC: "fa:16:3f:00:00:13", uplink: true, extraConfig: Self.nat)
    try sh(["ip", "netns", "add", fabric])
    try sh(["ip", "netns", "add", upstream])
    try sh(["ip", "netns", "add", internet])
    try sh(["ip", "-n", fabric, "link", "add", "br0", "type", "bridge"])
    try sh(["ip", "-n", fabric, "link", "set", "br0", "up"])
    try sh(["ip", "-n", upstream, "link", "add", "brx", "type", "bridge"])
    try sh(["ip", "-n", upstream, "addr", "add", "203.0.113.1/24", "dev", "brx"])
    try sh(["ip", "-n", upstream, "link", "set", "brx", "up"])
    try sh(["ip", "netns", "exec", upstream, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
    try sh(["ip", "link", "add", "inet", "netns", upstream, "type", "veth", "peer", "name", "eth0", "netns", internet])
    try sh(["ip", "-n", upstream, "addr", "add", "198.51.100.254/24", "dev", "inet"])
    try sh(["ip", "-n", upstream, "link", "set", "inet", "up"])
    try sh(["ip", "-n", internet, "addr", "add", "198.51.100.1/24", "dev", "eth0"])
    try sh(["ip", "-n", internet, "link", "set", "eth0", "up"])
    try sh(["ip", "-n", internet, "link", "set", "lo", "up"])
    try sh(["ip", "-n", internet, "route", "add", "default", "via", "198.51.100.254"])
    for ns in [upstream, internet] {
      try sh(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
      // DPDK's net_af_packet neither segments nor completes checksums (see `addVM`): with
      // it on the network node, the internet host and its router offload nothing.
      if networkDPDK {
        try sh(["ip", "netns", "exec", ns, "ethtool", "-K", ns == upstream ? "inet" : "eth0", "tso", "off", "gso", "off", "tx", "off"])
      }
    }
    for node in [n1, n2, nn] {
      try node.plug("ul0", intoBridge: "br0", namespace: fabric)
      try node.plug("up0", intoBridge: "brx", namespace: upstream)
    }
    for v in Self.vms {
      try (v.node == 1 ? n1 : n2).addVM(v.id, mac: Self.mac(v.ip), ip: v.ip, mtu: 1450, gateway: "10.\(v.net).0.1")
    }
    try n1.start()
    try n2.start()
    try nn.start()
    guard programmed else { return }
    for (node, here) in [(n1, 1), (n2, 2), (nn, 3)] {
      for k in 1...2 { try node.ctl("network create net-\(k) --tenant tenant-a --vni \(100 + k)") }
      try node.ctl("router create r1 --tenant tenant-a")
      for k in 1...2 { try node.ctl("router interface-add r1 --network net-\(k) --address 10.\(k).0.1/24 --mac fa:16:3e:ff:0\(k):00") }
      for k in 1...3 { try node.ctl("chassis set --tunnel-ip 10.9.0.\(k) --dvr-mac fa:16:3f:00:00:1\(k)") }
      try node.ctl("gateway set r1 --external-ip 203.0.113.10/24 --upstream 203.0.113.1 --mac fa:16:3e:ee:00:01 --snat-node 10.9.0.3 "
                   + "--port-range \(portRange)")
      for v in Self.vms {
        let location = v.node == here ? "--local \(node.spec(v.id))" : "--remote 10.9.0.\(v.node)"
        try node.ctl("port create \(v.id) --network net-\(v.net) --mac \(Self.mac(v.ip)) --ip \(v.ip) \(location)")
      }
      try node.ctl("fip create 203.0.113.20 --port a1")
    }
    for node in [n1, n2, nn] { _ = try node.resolvedTunnels() }
  }

  static func mac(_ ip: String) -> String {
    let o = ip.split(separator: ".").compactMap { Int($0) }
    return String(format: "fa:16:3e:%02x:00:%02x", o[1], o[3])
  }
  func ns(_ vm: String) -> String { (n1.vms[vm] ?? n2.vms[vm])!.ns }

  /// A UDP echo round trip from a VM to the internet host; returns the source address the
  /// internet host saw ("" when no reply came back).
  func udpEcho(from vm: String, port: Int = 7000) throws -> String {
    let server = Process()
    server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    server.arguments = ["timeout", "-s", "KILL", "15", "ip", "netns", "exec", internet, "python3", "-c", """
      import socket
      s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", \(port))); print("ready", flush=True)
      d, a = s.recvfrom(2048); s.sendto(a[0].encode(), a)
      """]
    let out = Pipe()
    server.standardOutput = out
    try server.runUnblocked()
    defer { if server.isRunning { server.terminate() } }
    _ = out.fileHandleForReading.availableData
    let r = try sh(["timeout", "-s", "KILL", "15", "ip", "netns", "exec", ns(vm), "python3", "-c", """
      import socket
      s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
      for _ in range(3):
          s.sendto(b"hello", ("198.51.100.1", \(port)))
          try:
              print(s.recvfrom(2048)[0].decode()); break
          except socket.timeout: pass
      """], check: false)
    return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  func traceroute(from vm: String) throws -> [String] {
    let r = try sh(["timeout", "-s", "KILL", "40", "ip", "netns", "exec", ns(vm), "traceroute", "-n", "-q", "1", "-w", "2", "-m", "5",
                    "198.51.100.1"], check: false)
    return r.out.split(separator: "\n").dropFirst().map { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "" }
  }

  func sessions(_ node: TestCloud, _ filter: String = "") throws -> [[String: Any]] {
    let out = try node.ctl("sessions --json " + filter)
    return try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]] ?? []
  }

  func destroy() {
    n1.destroy(); n2.destroy(); nn.destroy()
    for ns in [fabric, upstream, internet] { _ = try? sh(["ip", "netns", "del", ns], check: false) }
  }
}

@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct NorthSouthTests {
  @Test func floatingIPsOnComputeNodesAndSNATThroughTheNetworkNode() throws {
    let c = try NorthSouthCloud()
    defer { c.destroy() }

    // Path 5: the internet reaches a1 through its floating IP (ping, a TCP server in the VM),
    // and n1 — a1's own node — answers ARP for it.
    #expect(try TestCloud.ping(namespace: c.internet, "203.0.113.20"), "internet -> floating IP")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.internet, toNamespace: c.ns("a1"), ip: "203.0.113.20", bytes: 500_000),
            "TCP internet -> server in a1")
    let n1MAC = try TestCloud.mac(namespace: c.n1.host, interface: "up0")
    let neigh = try sh(["ip", "-n", c.upstream, "neigh", "show", "203.0.113.20"]).out
    #expect(neigh.contains(n1MAC), "upstream's ARP entry for the floating IP: \(neigh), n1 up0 \(n1MAC)")

    // Path 4: a1 reaches the internet with its floating IP as source, straight from n1.
    let seen = try c.n1.capture(namespace: c.internet, interface: "eth0", filter: "icmp.type == 8", seconds: 4) { () throws in
      #expect(try TestCloud.ping(namespace: c.ns("a1"), "198.51.100.1", count: 5), "a1 -> internet")
    }
    #expect(seen.count >= 5, "\(seen)")
    #expect(seen.allSatisfy { $0.contains("203.0.113.20 → 198.51.100.1") || $0.contains("203.0.113.20 -> 198.51.100.1") }, "\(seen)")
    #expect(try c.udpEcho(from: "a1") == "203.0.113.20")

    // Path 6: b1 (n1) and c2 (n2) have no floating IP: SNAT to 203.0.113.10 on the network node.
    #expect(try c.udpEcho(from: "b1") == "203.0.113.10", "UDP b1 -> internet via SNAT")
    #expect(try c.udpEcho(from: "c2", port: 7001) == "203.0.113.10", "UDP c2 (node 2) -> internet via SNAT")
    #expect(try TestCloud.ping(namespace: c.ns("b1"), "198.51.100.1"), "ping b1 -> internet via SNAT")
    #expect(try TestCloud.ping(namespace: c.ns("c2"), "198.51.100.1"), "ping c2 -> internet via SNAT")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("b1"), toNamespace: c.internet, ip: "198.51.100.1", bytes: 500_000),
            "TCP b1 -> internet via SNAT")

    // The sessions, on the network node; filters work; compute nodes have none.
    let all = try c.sessions(c.nn)
    let inside = Set(all.compactMap { ($0["inside"] as? String)?.split(separator: ":").first.map(String.init) })
    #expect(inside == ["10.2.0.10", "10.1.0.20"], "\(all)")
    #expect(all.allSatisfy { ($0["external"] as? String)?.hasPrefix("203.0.113.10:4000") == true }, "\(all)")
    let b1UDP = try c.sessions(c.nn, "--inside-ip 10.2.0.10 --proto udp")
    #expect(b1UDP.count == 1 && b1UDP.first?["remote"] as? String == "198.51.100.1:7000", "\(b1UDP)")
    #expect(try c.sessions(c.nn, "--proto tcp").contains { $0["remote"] as? String == "198.51.100.1:5001" })
    #expect(try c.sessions(c.n1).isEmpty)
    let gw = (try c.nn.show("gateways") as? [[String: Any]])?.first
    #expect(gw?["snat_here"] as? Bool == true && (gw?["sessions"] as? Int ?? 0) >= 4 && gw?["upstream_mac"] as? String != "unresolved",
            "\(String(describing: gw))")
    // They expire after their timeouts (10 s for UDP and ICMP here: the checks above must see
    // them alive on a loaded machine), and the table shows it.
    let deadline = Date().addingTimeInterval(20)
    while try !c.sessions(c.nn).isEmpty && Date() < deadline { usleep(500_000) }
    #expect(try c.sessions(c.nn).isEmpty, "sessions did not expire")
    let nat = try c.nn.show("nat") as? [String: Any]
    #expect((nat?["expired"] as? Int ?? 0) >= 4, "\(String(describing: nat))")

    // Traceroute through both NAT kinds: the upstream's time exceeded and the internet host's
    // port unreachable come back with their quotes translated (else traceroute prints '*').
    #expect(try c.traceroute(from: "b1") == ["10.2.0.1", "203.0.113.1", "198.51.100.1"], "traceroute via SNAT")
    #expect(try c.traceroute(from: "a1") == ["10.1.0.1", "203.0.113.1", "198.51.100.1"], "traceroute via floating IP")

    // Exhaust the three SNAT ports towards one endpoint on purpose: the fourth connection is
    // dropped and counted, the first three keep working, the daemon keeps running.
    let echo = Process()
    echo.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    echo.arguments = ["timeout", "-s", "KILL", "30", "ip", "netns", "exec", c.internet, "python3", "-c", """
      import socket, threading
      s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 9000)); s.listen(8)
      def serve(c):
          while True:
              d = c.recv(64)
              if not d: break
              c.sendall(d)
      while True:
          c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
      """]
    try echo.runUnblocked()
    defer { if echo.isRunning { echo.terminate() } }
    try waitFor("the echo server to listen", seconds: 10) {
      try sh(["ip", "netns", "exec", c.internet, "ss", "-ltnH", "sport = :9000"]).out.contains("9000")
    }
    let r = try sh(["timeout", "-s", "KILL", "30", "ip", "netns", "exec", c.ns("b1"), "python3", "-c", """
      import socket, json
      socks, connect, echo = [], [], []
      for i in range(4):
          s = socket.socket(); s.settimeout(3)
          try:
              s.connect(("198.51.100.1", 9000)); socks.append(s); connect.append("ok")
          except OSError:
              connect.append("fail")
      for s in socks:
          s.sendall(b"still-here"); echo.append(s.recv(64).decode())
      print(json.dumps({"connect": connect, "echo": echo}))
      """], check: false)
    let result = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: [String]]
    #expect(result?["connect"] == ["ok", "ok", "ok", "fail"], "\(r.out)")
    #expect(result?["echo"] == ["still-here", "still-here", "still-here"], "\(r.out)")
    #expect(try c.nn.drops("snat-ports-exhausted") >= 1)
    #expect((try c.nn.show("nat") as? [String: Any])?["ports_exhausted"] as? Int ?? 0 >= 1)
    #expect(try c.nn.show("node") is [String: Any], "the network node still answers")

    // Move the floating IP to c2 on n2 while the internet pings it: n2 announces it with
    // gratuitous ARP, the upstream follows, and c2 answers.
    for node in [c.n1, c.n2, c.nn] { try node.ctl("fip associate 203.0.113.20 --port c2") }
    let n2MAC = try TestCloud.mac(namespace: c.n2.host, interface: "up0")
    try waitFor("the upstream to learn the floating IP at n2 (gratuitous ARP)", seconds: 10) {
      try sh(["ip", "-n", c.upstream, "neigh", "show", "203.0.113.20"]).out.contains(n2MAC)
    }
    let atC2 = try c.n2.capture(on: "c2", filter: "icmp.type == 8", seconds: 3) { () throws in
      #expect(try TestCloud.ping(namespace: c.internet, "203.0.113.20"), "internet -> floating IP, now c2's")
    }
    #expect(atC2.count >= 3, "\(atC2)")
    #expect(try sh(["ip", "-n", c.upstream, "neigh", "show", "203.0.113.20"]).out.contains(n2MAC))
    #expect(try c.udpEcho(from: "c2", port: 7002) == "203.0.113.20")
    #expect(try c.udpEcho(from: "a1", port: 7003) == "203.0.113.10", "a1, without its floating IP now, goes through SNAT")
  }

  /// Issue 12: path-MTU discovery works through SNAT and floating IPs, both ways; the router
  /// hop answers the internet (time exceeded, fragmentation needed, echo to its external IP);
  /// one ICMP echo flow keeps one VXLAN source port.
  @Test func pathMTUAndICMPTowardsTheInternet() throws {
    let c = try NorthSouthCloud()
    defer { c.destroy() }
    func ping(_ ns: String, _ ip: String, _ extra: [String]) throws -> String {
      try sh(["timeout", "-s", "KILL", "20", "ip", "netns", "exec", ns, "ping", "-c", "2", "-i", "0.3", "-W", "2"] + extra + [ip],
             check: false).out
    }
    // b1 goes out through SNAT on nn; its MTU is raised to 1500 on a 1450 network.
    try sh(["ip", "-n", c.ns("b1"), "link", "set", "eth0", "mtu", "1500"])
    let out = try ping(c.ns("b1"), "198.51.100.1", ["-M", "do", "-s", "1472"])
    #expect(out.contains("mtu = 1450") && out.contains("10.2.0.1"), "frag needed from b1's gateway: \(out)")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("b1"), toNamespace: c.internet, ip: "198.51.100.1", bytes: 500_000),
            "TCP from a 1500-MTU VM through SNAT lowers its segment size and completes")
    // The internet → a1's floating IP, too big for a1's network.
    let inbound = try ping(c.internet, "203.0.113.20", ["-M", "do", "-s", "1472"])
    #expect(inbound.contains("mtu = 1450") && inbound.contains("203.0.113.10"), "frag needed from the router: \(inbound)")
    #expect(try TestCloud.ping(namespace: c.internet, "203.0.113.20", extra: ["-M", "do", "-s", "1422"]), "1450 bytes pass")
    // traceroute from the internet shows the router hop, then the floating IP.
    let trace = try sh(["timeout", "-s", "KILL", "40", "ip", "netns", "exec", c.internet, "traceroute", "-n", "-q", "1", "-w", "2",
                        "-m", "5", "203.0.113.20"], check: false).out
    let hops = trace.split(separator: "\n").dropFirst().map { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "" }
    #expect(hops == ["198.51.100.254", "203.0.113.10", "203.0.113.20"], "\(trace)")
    // The router's external IP answers echo.
    #expect(try TestCloud.ping(namespace: c.internet, "203.0.113.10"), "ping the router's external IP")
    // Five pings of one echo flow across the overlay (a1 on n1 → c2 on n2): one outer source port.
    let sports = try c.n2.capture(namespace: c.n2.host, interface: "ul0", filter: "vxlan && icmp.type == 8", fields: ["udp.srcport"]) {
      () throws in
      #expect(try TestCloud.ping(namespace: c.ns("a1"), "10.1.0.20", count: 5))
    }
    #expect(sports.count >= 5 && Set(sports).count == 1, "\(sports)")
    // n1's tunnel to the SNAT node carries r1's networks (b1's SNAT traffic crosses it on net-2).
    let tunnels = try c.n1.show("tunnels") as? [[String: Any]] ?? []
    let toSNAT = tunnels.first { $0["remote"] as? String == "10.9.0.3" }
    #expect(toSNAT?["vnis"] as? [Int] == [101, 102] && toSNAT?["snat_for"] as? [String] == ["r1"], "\(tunnels)")
  }
}

