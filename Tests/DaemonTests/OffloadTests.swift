import Foundation
import TestSupport
import Testing

// Guests with their offloads at their defaults (issue 18): a VM's kernel hands its veth TSO
// super-frames of up to 64 KiB with checksums left to offload, and Gannet's AF_PACKET ports
// segment and checksum them in software. 100 MB TCP transfers with SHA-256 checked, on one
// node, across nodes over VXLAN (routed east-west) and through a floating IP both ways; each
// asserts that super-frames really arrived (the port's `rx_super_frames`), so a sender that
// segmented by itself could not make the test pass.

let hundredMB = 100_000_000

/// `show counters`: the super-frames `port` (a port id, "underlay" or "uplink") received and
/// segmented, or with `sent`, the runs of segments it sent as one super-frame again.
func superFrames(_ node: TestCloud, port: String, sent: Bool = false) throws -> Int {
  let reply = try node.show("counters") as? [String: Any] ?? [:]
  let ports = reply["ports"] as? [[String: Any]] ?? []
  return ports.first { $0["port"] as? String == port }?[sent ? "tx_super_frames" : "rx_super_frames"] as? Int ?? 0
}

/// VMs a1 (10.0.0.1) and a2 (10.0.0.2) on one network of node `c` (a fresh one by default),
/// gannetd started; `c` is destroyed if that fails.
func oneNodeTwoVMs(_ c: TestCloud? = nil) throws -> TestCloud {
  let c = try c ?? TestCloud()
  do {
    try c.addVM("a1", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1")
    try c.addVM("a2", mac: "fa:16:3e:00:00:02", ip: "10.0.0.2")
    try c.start()
    try c.ctl("network create net-a --tenant tenant-a --vni 1001")
    for (vm, n) in [("a1", 1), ("a2", 2)] {
      try c.ctl("port create \(vm) --network net-a --mac fa:16:3e:00:00:0\(n) --ip 10.0.0.\(n) --local \(c.spec(vm))")
    }
  } catch {
    c.destroy()
    throw error
  }
  return c
}

@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct OffloadTests {
  @Test func hundredMegabytesBetweenTwoVMsOfOneNode() throws {
    let c = try oneNodeTwoVMs()
    defer { c.destroy() }
    let tso = try sh(["ip", "netns", "exec", c.vm("a1").ns, "ethtool", "-k", "eth0"]).out
    #expect(tso.contains("tcp-segmentation-offload: on"), "the VM's TSO is on by default: \(tso)")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.vm("a1").ns, toNamespace: c.vm("a2").ns, ip: "10.0.0.2", bytes: hundredMB,
                                      seconds: 180), "100 MB a1 -> a2: \(c.log())")
    #expect(try superFrames(c, port: "a1") > 0, "a1 sent super-frames")
    #expect(try superFrames(c, port: "a2", sent: true) > 0, "a2's veth was handed super-frames again")
    // Every frame a1's kernel sent is accounted for: taken (rx packets − segments +
    // super-frames) or dropped at the port by name (its ring overflowed, say).
    func accounting() throws -> (sent: Int, accounted: Int) {
      let reply = try c.show("counters") as? [String: Any] ?? [:]
      let a1 = (reply["ports"] as? [[String: Any]] ?? []).first { $0["port"] as? String == "a1" } ?? [:]
      let drops = (try c.show("drops") as? [[String: Any]] ?? []).filter { $0["where"] as? String == "port a1" }
      let taken = (a1["rx_packets"] as? Int ?? 0) - (a1["rx_segments"] as? Int ?? 0) + (a1["rx_super_frames"] as? Int ?? 0)
      let stats = try sh(["ip", "-n", c.vm("a1").ns, "-s", "-j", "link", "show", "eth0"]).out
      let sent = ((try JSONSerialization.jsonObject(with: Data(stats.utf8)) as? [[String: Any]])?.first?["stats64"] as? [String: Any])
        .flatMap { $0["tx"] as? [String: Any] }?["packets"] as? Int ?? -1
      return (sent, taken + drops.reduce(0) { $0 + ($1["count"] as? Int ?? 0) })
    }
    try waitFor("a1's frames accounted for: \(try accounting())", seconds: 5) { (try? accounting()).map { $0.sent == $0.accounted } ?? false }
    #expect(try c.drops("rx-truncated") == 0)
    #expect(try c.drops("rx-gso-malformed") + c.drops("rx-gso-unsupported") == 0)
  }

  @Test func hundredMegabytesAcrossNodesOverVXLAN() throws {
    let c = try DVRCloud()
    defer { c.destroy() }
    // a1 (node 1, 10.1.0.0/24) -> b2 (node 2, 10.2.0.0/24): routed on node 1, over VXLAN.
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("a1"), toNamespace: c.ns("b2"), ip: "10.2.0.20", bytes: hundredMB,
                                      seconds: 180), "100 MB a1 -> b2 across nodes: \(c.n1.log())")
    #expect(try superFrames(c.n1, port: "a1") > 0, "a1 sent super-frames")
    // And back, b2 -> a1: node 2 segments b2's super-frames before its VXLAN encapsulation.
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("b2"), toNamespace: c.ns("a1"), ip: "10.1.0.10", bytes: hundredMB,
                                      seconds: 180), "100 MB b2 -> a1 across nodes: \(c.n2.log())")
    #expect(try superFrames(c.n2, port: "b2") > 0, "b2 sent super-frames")
    for n in [c.n1, c.n2] { #expect(try n.drops("rx-truncated") == 0) }
  }

  @Test func hundredMegabytesThroughAFloatingIPBothWays() throws {
    let c = try NorthSouthCloud()
    defer { c.destroy() }
    // The internet host sends super-frames too, but the upstream kernel router segments
    // what it forwards, so n1's uplink receives ordinary frames; a1's reach its port whole.
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.internet, toNamespace: c.ns("a1"), ip: "203.0.113.20", bytes: hundredMB,
                                      seconds: 180), "100 MB internet -> a1's floating IP: \(c.n1.log())")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("a1"), toNamespace: c.internet, ip: "198.51.100.1", bytes: hundredMB,
                                      seconds: 180), "100 MB a1 -> internet from its floating IP: \(c.n1.log())")
    #expect(try superFrames(c.n1, port: "a1") > 0, "a1 sent super-frames")
    #expect(try c.n1.drops("rx-truncated") == 0)
  }
}

extension OffloadTests {
  /// A `UDP_SEGMENT` sender (UDP GSO): one 10,000-byte send leaves the VM as one super-frame
  /// and arrives as ten 1,000-byte datagrams, each intact.
  @Test func udpSegmentationOffloadArrivesAsSeparateDatagrams() throws {
    let c = try oneNodeTwoVMs()
    defer { c.destroy() }
    #expect(try c.ping(from: "a1", "10.0.0.2"))
    // The receiver binds first, then starts the sender; datagram k carries bytes k*1000 ...
    let sender = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(17, 103, 1000); "
      + "s.sendto(bytes(i % 251 for i in range(10000)), ('10.0.0.2', 7000))"   // 17 = SOL_UDP, 103 = UDP_SEGMENT
    let r = try sh(["timeout", "-s", "KILL", "20", "ip", "netns", "exec", c.vm("a2").ns, "python3", "-c", """
      import socket, subprocess
      r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("0.0.0.0", 7000)); r.settimeout(3)
      subprocess.run(["ip", "netns", "exec", "\(c.vm("a1").ns)", "python3", "-c", "\(sender)"], check=True)
      got = []
      try:
          while len(got) < 10: got.append(r.recv(65536))
      except OSError: pass
      whole = bytes(i % 251 for i in range(10000))
      print(len(got), all(len(d) == 1000 for d in got), b"".join(got) == whole)
      """], check: false)
    #expect(r.out.trimmingCharacters(in: .whitespacesAndNewlines) == "10 True True", "datagrams, all 1000 bytes, in order: \(r.out)")
    let counters = try c.ctl("show counters")
    #expect(try superFrames(c, port: "a1") == 1, "one super-frame: \(counters)")
  }
}
