import Foundation
import TestSupport
import Testing

// Multi-node: each node is its own namespace with its own gannetd and VMs; nodes are joined
// by an underlay veth and carry tenant networks as VXLAN (RFC 7348). Peers are the kernel's
// ping, TCP and, in the interop test, its own vxlan driver; checks are tshark captures and
// gannetctl's counters. Everything is programmed through gannetctl.

/// Programs one tenant network on a node: its local VMs by spec, the others as remote ports
/// behind `remoteTunnel` (l2population).
private func program(_ node: TestCloud, network: String, tenant: String, vni: Int,
                     ports: [(id: String, mac: String, ip: String, local: Bool)], remoteTunnel: String) throws {
  try node.ctl("network create \(network) --tenant \(tenant) --vni \(vni)")
  for p in ports {
    let location = p.local ? "--local \(node.spec(p.id))" : "--remote \(remoteTunnel)"
    try node.ctl("port create \(p.id) --network \(network) --mac \(p.mac) --ip \(p.ip) \(location)")
  }
}

@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces, veth pairs and VXLAN devices: needs root"))
struct OverlayTests {
  /// Two compute nodes, two tenants with the same IPs and MACs on both: traffic crosses the
  /// underlay as VXLAN with each tenant's VNI, ARP for known VMs never crosses it, tenants
  /// never see each other, and an oversized frame is dropped and counted.
  @Test(arguments: [false, true])
  func twoNodesCarryTwoIsolatedTenantsOverVXLAN(dpdk: Bool) throws {
    let n1 = try TestCloud(dpdk: dpdk, tunnelIP: "10.9.0.1", underlay: true)
    let n2 = try TestCloud(dpdk: dpdk, tunnelIP: "10.9.0.2", underlay: true)
    defer { n1.destroy(); n2.destroy() }
    try TestCloud.connectUnderlays(n1, n2)
    // Neutron gives VMs the network MTU (underlay 1500 − 50).
    try n1.addVM("a1", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1", mtu: 1450)
    try n1.addVM("b1", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1", mtu: 1450)
    try n2.addVM("a2", mac: "fa:16:3e:00:00:02", ip: "10.0.0.2", mtu: 1450)
    try n2.addVM("b2", mac: "fa:16:3e:00:00:02", ip: "10.0.0.2", mtu: 1450)
    try n1.start()
    try n2.start()
    for (node, here, there, remote) in [(n1, "1", "2", "10.9.0.2"), (n2, "2", "1", "10.9.0.1")] {
      for (net, t, vni) in [("net-a", "a", 100), ("net-b", "b", 200)] {
        try program(node, network: net, tenant: "tenant-\(t)", vni: vni,
                    ports: [("\(t)\(here)", "fa:16:3e:00:00:0\(here)", "10.0.0.\(here)", true),
                            ("\(t)\(there)", "fa:16:3e:00:00:0\(there)", "10.0.0.\(there)", false)],
                    remoteTunnel: remote)
      }
    }
    let tunnels = try n1.resolvedTunnels()
    #expect(tunnels.count == 1)
    #expect(tunnels.first?["remote"] as? String == "10.9.0.2")
    #expect(tunnels.first?["next_hop_mac"] as? String == (try TestCloud.mac(namespace: n2.host, interface: "ul0")))
    #expect(Set(tunnels.first?["vnis"] as? [Int] ?? []) == [100, 200])
    _ = try n2.resolvedTunnels()

    // What n2's underlay receives from n1 while tenant A pings: VXLAN with VNI 100, and no
    // ARP inside the overlay (both VMs start with empty ARP caches; n1 answers a1's request).
    var bSaw: [String] = []
    let underlay = try n1.capture(namespace: n2.host, interface: "ul0", filter: "vxlan", seconds: 5) { () throws in
      bSaw = try n1.capture(on: "b1", filter: "icmp", seconds: 3) { () throws in
        #expect(try n1.ping(from: "a1", "10.0.0.2", count: 5), "a1 -> a2 across nodes")
      }
    }
    let echo = underlay.filter { $0.contains("10.0.0.1 → 10.0.0.2") && $0.contains("ICMP") }
    #expect(echo.count >= 5, "encapsulated echo requests on the underlay: \(underlay)")
    #expect(underlay.allSatisfy { !$0.contains("ARP") }, "ARP crossed the overlay: \(underlay.filter { $0.contains("ARP") })")
    #expect(bSaw.isEmpty, "tenant B saw tenant A's traffic: \(bSaw)")
    let fields = try sh(["tshark", "-r", "\(n1.dir)/cap-\(n2.host)-ul0.pcap", "-Y", "vxlan && icmp", "-T", "fields",
                         "-e", "ip.src", "-e", "ip.dst", "-e", "udp.dstport", "-e", "vxlan.vni", "-E", "occurrence=f"], stderr: false).out
    let rows = Set(fields.split(separator: "\n").map(String.init))
    #expect(rows == ["10.9.0.1\t10.9.0.2\t4789\t100"], "outer addresses, port and VNI: \(rows)")

    #expect(try n2.ping(from: "b2", "10.0.0.1"), "b2 -> b1 across nodes")
    #expect(try TestCloud.tcpTransfer(fromNamespace: n1.vms["a1"]!.ns, toNamespace: n2.vms["a2"]!.ns, ip: "10.0.0.2"), "TCP a1 -> a2")
    #expect(try TestCloud.tcpTransfer(fromNamespace: n2.vms["b2"]!.ns, toNamespace: n1.vms["b1"]!.ns, ip: "10.0.0.1"), "TCP b2 -> b1")

    // A remote port behind this node's own tunnel IP is refused, and changes nothing.
    let before = try n1.ctl("show state --json")
    let refused = try n1.ctl("port create x --network net-a --mac fa:16:3e:00:00:09 --remote 10.9.0.1", check: false)
    #expect(refused.contains("error (conflict)"), "\(refused)")
    #expect(try n1.ctl("show state --json") == before)

    // Per-tunnel counters moved on both nodes.
    let t1 = try n1.show("tunnels") as? [[String: Any]] ?? []
    #expect((t1.first?["tx_packets"] as? Int ?? 0) > 1000 && (t1.first?["rx_packets"] as? Int ?? 0) > 100)
    let remoteFDB = try n1.ctl("fdb show --remote")
    #expect(remoteFDB.contains("vxlan 10.9.0.2 vni 100") && remoteFDB.contains("vxlan 10.9.0.2 vni 200"))
    #expect(!remoteFDB.contains("local"))

    // A frame that would exceed the underlay MTU once encapsulated is dropped and counted,
    // never truncated; one that fits passes.
    try sh(["ip", "-n", n1.vms["a1"]!.ns, "link", "set", "eth0", "mtu", "1500"])
    #expect(try n1.ping(from: "a1", "10.0.0.2", count: 2, extra: ["-M", "do", "-s", "1422"]), "1450-byte packet fits")
    #expect(try !n1.ping(from: "a1", "10.0.0.2", count: 2, extra: ["-M", "do", "-s", "1472"]), "1500-byte packet must not pass")
    #expect(try n1.drops("vxlan-mtu-exceeded") >= 2)
  }

  /// Interop: the other node is the Linux kernel's own VXLAN device. Ping and TCP pass both
  /// ways, and the kernel's captures show Gannet's encapsulation.
  @Test func kernelVXLANPeerInteroperates() throws {
    let n1 = try TestCloud(tunnelIP: "10.9.0.1", underlay: true)
    let kv = "gnK\(n1.tag)"
    defer {
      n1.destroy()
      _ = try? sh(["ip", "netns", "del", kv], check: false)
    }
    try sh(["ip", "netns", "add", kv])
    try sh(["ip", "netns", "exec", kv, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
    try n1.connectUnderlay(toNamespace: kv)
    try sh(["ip", "-n", kv, "addr", "add", "10.9.0.2/24", "dev", "ul0"])
    try sh(["ip", "-n", kv, "link", "add", "vx0", "type", "vxlan", "id", "100", "local", "10.9.0.2", "remote", "10.9.0.1",
            "dstport", "4789", "dev", "ul0"])
    try sh(["ip", "-n", kv, "link", "set", "vx0", "address", "fa:16:3e:00:00:02"])
    try sh(["ip", "-n", kv, "addr", "add", "10.0.0.2/24", "dev", "vx0"])
    try sh(["ip", "-n", kv, "link", "set", "vx0", "up"])
    // The kernel VTEP keeps its offloads: it sends VXLAN super-frames (tunnel GSO), which
    // Gannet's underlay port segments, outer and inner headers alike.
    try n1.addVM("a1", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1", mtu: 1450)
    try n1.start()
    try program(n1, network: "net-a", tenant: "tenant-a", vni: 100,
                ports: [("a1", "fa:16:3e:00:00:01", "10.0.0.1", true), ("kv", "fa:16:3e:00:00:02", "10.0.0.2", false)],
                remoteTunnel: "10.9.0.2")
    let tunnels = try n1.resolvedTunnels()
    #expect(tunnels.first?["next_hop_mac"] as? String == (try TestCloud.mac(namespace: kv, interface: "ul0")))

    let seen = try n1.capture(namespace: kv, interface: "ul0", filter: "vxlan && icmp", seconds: 4) { () throws in
      #expect(try n1.ping(from: "a1", "10.0.0.2"), "Gannet VM -> kernel VTEP")
    }
    #expect(seen.count >= 6, "echo requests from Gannet and replies from the kernel: \(seen)")
    let fields = try sh(["tshark", "-r", "\(n1.dir)/cap-\(kv)-ul0.pcap", "-Y", "vxlan && icmp.type == 8", "-T", "fields",
                         "-e", "ip.src", "-e", "ip.dst", "-e", "udp.dstport", "-e", "vxlan.vni", "-E", "occurrence=f"], stderr: false).out
    #expect(Set(fields.split(separator: "\n").map(String.init)) == ["10.9.0.1\t10.9.0.2\t4789\t100"])
    #expect(try TestCloud.ping(namespace: kv, "10.0.0.1"), "kernel VTEP -> Gannet VM")
    #expect(try TestCloud.tcpTransfer(fromNamespace: n1.vms["a1"]!.ns, toNamespace: kv, ip: "10.0.0.2"), "TCP Gannet -> kernel")
    #expect(try TestCloud.tcpTransfer(fromNamespace: kv, toNamespace: n1.vms["a1"]!.ns, ip: "10.0.0.1"), "TCP kernel -> Gannet")
    #expect(try superFrames(n1, port: "underlay") > 0, "the kernel VTEP's VXLAN super-frames were segmented")
    #expect(try n1.drops("vxlan-bad-udp-checksum") == 0)
  }
}
