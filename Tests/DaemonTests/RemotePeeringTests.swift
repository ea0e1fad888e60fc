import Foundation
import Testing
import TestSupport

/// Seed 004's two regions, programmed only with gannetctl. Region 1 (underlay 10.9.0.0/24,
/// one switch): n1 with VM a in VCN1, n2 with VM b in VCN2, gateway node g1 running DRG1.
/// Region 2 (10.8.0.0/24): n3 with VM c in VCN3, gateway node g2 running DRG3. The backbone:
/// a kernel router between the two regions' switches that only the gateway nodes use. The
/// five daemons sleep 1 ms when idle (they share the machine with the other suites).
struct TwoRegions {
  let n1, n2, g1, n3, g2: TestCloud
  let sw1, sw2, bb: String

  init() throws {
    let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
    sw1 = "gnS1\(tag)"; sw2 = "gnS2\(tag)"; bb = "gnBB\(tag)"
    for ns in [sw1, sw2, bb] { try sh(["ip", "netns", "add", ns]) }
    for ns in [sw1, sw2] {
      try sh(["ip", "-n", ns, "link", "add", "br0", "type", "bridge"])
      try sh(["ip", "-n", ns, "link", "set", "br0", "up"])
    }
    // The backbone router: 10.9.0.254 in region 1, 10.8.0.254 in region 2.
    for (k, sw, address) in [(1, sw1, "10.9.0.254/24"), (2, sw2, "10.8.0.254/24")] {
      try sh(["ip", "link", "add", "bb\(k)", "netns", bb, "type", "veth", "peer", "name", "up\(k)", "netns", sw])
      try sh(["ip", "-n", sw, "link", "set", "up\(k)", "master", "br0"])
      try sh(["ip", "-n", sw, "link", "set", "up\(k)", "up"])
      try sh(["ip", "-n", bb, "addr", "add", address, "dev", "bb\(k)"])
      try sh(["ip", "-n", bb, "link", "set", "bb\(k)", "up"])
    }
    try sh(["ip", "netns", "exec", bb, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
    n1 = try TestCloud(tunnelIP: "10.9.0.1", underlay: true, dvrMAC: "fa:16:3f:00:01:01", idleSleepMicroseconds: 1000)
    n2 = try TestCloud(tunnelIP: "10.9.0.2", underlay: true, dvrMAC: "fa:16:3f:00:01:02", idleSleepMicroseconds: 1000)
    g1 = try TestCloud(tunnelIP: "10.9.0.3", underlay: true, role: "network", dvrMAC: "fa:16:3f:00:01:03", underlayGateway: "10.9.0.254", idleSleepMicroseconds: 1000)
    n3 = try TestCloud(tunnelIP: "10.8.0.1", underlay: true, dvrMAC: "fa:16:3f:00:02:01", idleSleepMicroseconds: 1000)
    g2 = try TestCloud(tunnelIP: "10.8.0.3", underlay: true, role: "network", dvrMAC: "fa:16:3f:00:02:03", underlayGateway: "10.8.0.254", idleSleepMicroseconds: 1000)
    for n in [n1, n2, g1] { try n.plug("ul0", intoBridge: "br0", namespace: sw1) }
    for n in [n3, g2] { try n.plug("ul0", intoBridge: "br0", namespace: sw2) }
    try n1.addVM("a", mac: "fa:16:3e:10:01:0a", ip: "10.10.1.10", mtu: 1400, gateway: "10.10.1.1")
    try n2.addVM("b", mac: "fa:16:3e:20:01:0a", ip: "10.20.1.10", mtu: 1400, gateway: "10.20.1.1")
    try n3.addVM("c", mac: "fa:16:3e:30:01:0a", ip: "10.30.1.10", mtu: 1400, gateway: "10.30.1.1")
    for n in [n1, n2, g1, n3, g2] { try n.start() }
    try programRegion1()
    try programRegion2()
    for n in [n1, n2, g1, n3, g2] { _ = try n.resolvedTunnels() }
  }

  /// The seed's security lists: TCP 1521 in from the other VCNs only, everything out.
  static func lists(_ node: TestCloud, _ k: Int) throws {
    try node.ctl("seclist create vcn\(k)-list --tenant t")
    try node.ctl("seclist rule-add vcn\(k)-list --id out --direction egress --cidr 0.0.0.0/0")
    for other in [1, 2, 3] where other != k {
      try node.ctl("seclist rule-add vcn\(k)-list --id from-vcn\(other) --direction ingress --cidr 10.\(other)0.0.0/16 --protocol tcp --port 1521")
    }
    try node.ctl("network create vcn\(k)-client --tenant t --vni \(100 * k + 1)")
    try node.ctl("network update vcn\(k)-client --security-list vcn\(k)-list")
  }

  func programRegion1() throws {
    for node in [n1, n2, g1] {
      for (ip, mac) in [("10.9.0.1", "fa:16:3f:00:01:01"), ("10.9.0.2", "fa:16:3f:00:01:02"), ("10.9.0.3", "fa:16:3f:00:01:03")] {
        try node.ctl("chassis set --tunnel-ip \(ip) --dvr-mac \(mac)")
      }
      for k in [1, 2] { try Self.lists(node, k) }
      try node.ctl("router create VCN1 --tenant t --cidr-block 10.10.0.0/16")
      try node.ctl("router create VCN2 --tenant t --cidr-block 10.20.0.0/16")
      try node.ctl("router create HubVCN1 --tenant t --cidr-block 10.11.0.0/16")
      try node.ctl("router interface-add VCN1 --network vcn1-client --address 10.10.1.1/24 --mac fa:16:3e:ff:10:01")
      try node.ctl("router interface-add VCN2 --network vcn2-client --address 10.20.1.1/24 --mac fa:16:3e:ff:20:01")
      for l in ["HubLPG1", "HubLPG2"] { try node.ctl("lpg create \(l) --router HubVCN1") }
      for l in ["LPG1R", "LPG1L"] { try node.ctl("lpg create \(l) --router VCN1") }
      for l in ["LPG2R", "LPG2L"] { try node.ctl("lpg create \(l) --router VCN2") }
      try node.ctl("lpg connect LPG1R --peer HubLPG1")
      try node.ctl("lpg connect LPG2R --peer HubLPG2")
      try node.ctl("lpg connect LPG1L --peer LPG2L")
      for (k, direct, other) in [(1, "LPG1L", "10.20.0.0/16"), (2, "LPG2L", "10.10.0.0/16")] {
        try node.ctl("route-table create vcn\(k)-rt --router VCN\(k)")
        try node.ctl("route-table rule-add vcn\(k)-rt --destination \(other) --lpg \(direct)")
        try node.ctl("route-table rule-add vcn\(k)-rt --destination 10.30.0.0/16 --lpg LPG\(k)R")
        try node.ctl("route-table associate vcn\(k)-rt --network vcn\(k)-client")
      }
      for (lpg, t) in [("HubLPG1", "HubLPG1rt"), ("HubLPG2", "HubLPG2rt")] {
        try node.ctl("route-table create \(t) --router HubVCN1")
        try node.ctl("route-table associate \(t) --lpg \(lpg)")
      }
      try node.ctl("drg create DRG1 --gateway-node 10.9.0.3")
      try node.ctl("route-table create DRG1rt --router HubVCN1")
      try node.ctl("route-table rule-add DRG1rt --destination 10.10.0.0/16 --lpg HubLPG1")
      try node.ctl("route-table rule-add DRG1rt --destination 10.20.0.0/16 --lpg HubLPG2")
      try node.ctl("drg attach DRG1 --id hub1-att --router HubVCN1 --vni 7001 --route-table DRG1rt")
      try node.ctl("rpc create RPC1 --drg DRG1 --vni 9001")
      try node.ctl("route-table rule-add HubLPG1rt --destination 10.30.0.0/16 --drg")
      try node.ctl("route-table rule-add HubLPG2rt --destination 10.30.0.0/16 --drg")
      try node.ctl("rpc connect RPC1 --peer-gateway 10.8.0.3 --peer-route 10.30.0.0/16 --peer-route 10.33.0.0/16")
      try node.ctl("port create a --network vcn1-client --mac fa:16:3e:10:01:0a --ip 10.10.1.10 "
                   + (node === n1 ? "--local \(node.spec("a"))" : "--remote 10.9.0.1"))
      try node.ctl("port create b --network vcn2-client --mac fa:16:3e:20:01:0a --ip 10.20.1.10 "
                   + (node === n2 ? "--local \(node.spec("b"))" : "--remote 10.9.0.2"))
    }
  }

  func programRegion2() throws {
    for node in [n3, g2] {
      for (ip, mac) in [("10.8.0.1", "fa:16:3f:00:02:01"), ("10.8.0.3", "fa:16:3f:00:02:03")] {
        try node.ctl("chassis set --tunnel-ip \(ip) --dvr-mac \(mac)")
      }
      try Self.lists(node, 3)
      try node.ctl("router create VCN3 --tenant t --cidr-block 10.30.0.0/16")
      try node.ctl("router create HubVCN3 --tenant t --cidr-block 10.33.0.0/16")
      try node.ctl("router interface-add VCN3 --network vcn3-client --address 10.30.1.1/24 --mac fa:16:3e:ff:30:01")
      try node.ctl("lpg create HubLPG3 --router HubVCN3")
      try node.ctl("lpg create LPG3R --router VCN3")
      try node.ctl("lpg connect LPG3R --peer HubLPG3")
      try node.ctl("route-table create vcn3-rt --router VCN3")
      try node.ctl("route-table rule-add vcn3-rt --destination 10.10.0.0/16 --lpg LPG3R")
      try node.ctl("route-table rule-add vcn3-rt --destination 10.20.0.0/16 --lpg LPG3R")
      try node.ctl("route-table associate vcn3-rt --network vcn3-client")
      try node.ctl("drg create DRG3 --gateway-node 10.8.0.3")
      try node.ctl("route-table create HubLPG3rt --router HubVCN3")
      try node.ctl("route-table associate HubLPG3rt --lpg HubLPG3")
      try node.ctl("route-table create DRG3rt --router HubVCN3")
      try node.ctl("route-table rule-add DRG3rt --destination 10.30.0.0/16 --lpg HubLPG3")
      try node.ctl("drg attach DRG3 --id hub3-att --router HubVCN3 --vni 7003 --route-table DRG3rt")
      // The seed leaves HubLPG3rt empty; traffic back to region 1 needs these two rules.
      try node.ctl("route-table rule-add HubLPG3rt --destination 10.10.0.0/16 --drg")
      try node.ctl("route-table rule-add HubLPG3rt --destination 10.20.0.0/16 --drg")
      try node.ctl("rpc create RPC3 --drg DRG3 --vni 9001")
      try node.ctl("rpc connect RPC3 --peer-gateway 10.9.0.3 --peer-route 10.10.0.0/16 --peer-route 10.20.0.0/16 --peer-route 10.11.0.0/16")
      try node.ctl("port create c --network vcn3-client --mac fa:16:3e:30:01:0a --ip 10.30.1.10 "
                   + (node === n3 ? "--local \(node.spec("c"))" : "--remote 10.8.0.1"))
    }
  }

  func ns(_ vm: String) -> String { [n1, n2, n3].compactMap { $0.vms[vm]?.ns }.first! }
  func destroy() {
    for n in [n1, n2, g1, n3, g2] { n.destroy() }
    for ns in [sw1, sw2, bb] { _ = try? sh(["ip", "netns", "del", ns], check: false) }
  }
}

// In the PeeringTests suite, so that the two peering clouds never run at the same time.
extension PeeringTests {
  /// TCP 1521 from every VCN to every other, both ways, across the DRGs and the RPC; TCP 22
  /// is dropped by the destination's list; VCN1 → VCN3 crosses the backbone only between
  /// the gateway nodes, on the RPC's VNI; with the RPC disconnected VCN1 → VCN3 is
  /// unreachable (its routes are no longer imported: no route on the gateway node) while
  /// VCN1 ↔ VCN2 loses no echo during the teardown and keeps flowing.
  @Test func theSeedsTwoRegionsTalkThroughTheirDRGsAndTheRPC() throws {
    let r = try TwoRegions()
    defer { r.destroy() }
    let vms = [("a", "10.10.1.10"), ("b", "10.20.1.10"), ("c", "10.30.1.10")]
    var backbone: [String] = []
    backbone = try r.g1.capture(namespace: r.bb, interface: "bb1", filter: "vxlan", seconds: 8) { () throws in
      for (from, _) in vms {
        for (to, ip) in vms where to != from {
          #expect(try TestCloud.tcpTransfer(fromNamespace: r.ns(from), toNamespace: r.ns(to), ip: ip, bytes: 200_000, port: 1521),
                  "\(from) -> \(to) :1521")
        }
      }
    }
    // Only the gateway nodes' tunnel, on the RPC's VNI, crosses the backbone.
    let fields = try sh(["tshark", "-r", "\(r.g1.dir)/cap-\(r.bb)-bb1.pcap", "-Y", "vxlan", "-T", "fields", "-e", "ip.src", "-e", "ip.dst",
                         "-e", "vxlan.vni"], stderr: false).out
    var rows = Set<String>()
    // ip.src and ip.dst list the outer header first, then the inner one.
    for line in fields.split(separator: "\n") { rows.insert(line.split(separator: "\t").map { $0.split(separator: ",")[0] }.joined(separator: " ")) }
    let expected: Set<String> = ["10.9.0.3 10.8.0.3 9001", "10.8.0.3 10.9.0.3 9001"]
    #expect(!backbone.isEmpty)
    #expect(rows == expected, "\(rows)")
    let drg = try r.g1.ctl("drg show DRG1")
    #expect(drg.contains("imported from RPC1") && drg.contains("imported from hub1-att"), "\(drg)")

    // TCP 22 is not in VCN3's list.
    let denied = try r.n3.drops("acl-ingress-deny")
    #expect(try TestCloud.tcpConnect(fromNamespace: r.ns("a"), ip: "10.30.1.10", port: 22) == "timeout")
    #expect(try r.n3.drops("acl-ingress-deny") > denied)

    // The RPC goes down while VCN1 pings VCN2 (echo admitted by one more rule of VCN2's
    // list): VCN1 -> VCN3 unreachable, VCN1 <-> VCN2 loses nothing.
    for n in [r.n1, r.n2, r.g1] {
      try n.ctl("seclist rule-add vcn2-list --id ping-from-vcn1 --direction ingress --cidr 10.10.0.0/16 --protocol icmp")
    }
    #expect(try TestCloud.ping(namespace: r.ns("a"), "10.20.1.10"))
    let pinger = Process()
    pinger.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    pinger.arguments = ["timeout", "-s", "KILL", "30", "ip", "netns", "exec", r.ns("a"), "ping", "-c", "80", "-i", "0.05", "-W", "2", "-q",
                        "10.20.1.10"]
    let pingOut = Pipe()
    pinger.standardOutput = pingOut
    try pinger.runUnblocked()
    usleep(1_000_000)   // pacing: the teardown lands in the middle of the 4 s of echoes
    for n in [r.n1, r.n2, r.g1] { try n.ctl("rpc disconnect RPC1") }
    pinger.waitUntilExit()
    let summary = String(decoding: pingOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(summary.contains("80 received") && summary.contains(" 0% packet loss"), "VCN1 -> VCN2 during the RPC's teardown: \(summary)")
    let before = try r.g1.drops("ip4-no-route") + r.g1.drops("peering-down")
    #expect(try TestCloud.tcpConnect(fromNamespace: r.ns("a"), ip: "10.30.1.10", port: 1521) != "connected")
    let after = try r.g1.drops("ip4-no-route") + r.g1.drops("peering-down")
    #expect(after > before, "counted on the gateway node: its DRG no longer imports the peer's routes")
    #expect(try TestCloud.tcpTransfer(fromNamespace: r.ns("a"), toNamespace: r.ns("b"), ip: "10.20.1.10", bytes: 200_000, port: 1521))
  }
}
