import Foundation
import TestSupport
import Testing

// SNAT on a network node with two workers (issue 15, item 4), through gannetd with kernel
// peers: the network node's underlay and uplink are DPDK net_af_packet ports with a queue
// per worker (plus the control thread's), so the kernel's fanout hands each packet to
// whichever worker it hashes to; each worker owns the sessions of its half of the router's
// port range, and a packet that arrives on the other worker is handed over.

@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct SNATWorkersTests {
  /// UDP servers on `ports` in the internet namespace, each answering every datagram with
  /// the address:port it came from; runs until terminated (at most `seconds`).
  func udpServers(_ c: NorthSouthCloud, ports: Range<Int>, seconds: Int = 60) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["timeout", "-s", "KILL", "\(seconds)", "ip", "netns", "exec", c.internet, "python3", "-c", """
      import socket, select
      socks = []
      for port in range(\(ports.lowerBound), \(ports.upperBound)):
          s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port)); socks.append(s)
      while True:
          for s in select.select(socks, [], [])[0]:
              d, a = s.recvfrom(2048); s.sendto(("%s:%d" % a).encode(), a)
      """]
    try p.runUnblocked()
    try waitFor("the UDP servers to listen", seconds: 10) {
      try sh(["ip", "netns", "exec", c.internet, "ss", "-lunH", "sport = :\(ports.upperBound - 1)"]).out.contains("\(ports.upperBound - 1)")
    }
    return p
  }

  /// One UDP flow from `vm` to each port of `ports` (its own socket each); returns what each
  /// server saw as the flow's source ("" when no reply came back after three tries).
  func udpFlows(_ c: NorthSouthCloud, from vm: String, ports: Range<Int>) throws -> [String] {
    let r = try sh(["timeout", "-s", "KILL", "40", "ip", "netns", "exec", c.ns(vm), "python3", "-c", """
      import socket, json
      out = []
      for port in range(\(ports.lowerBound), \(ports.upperBound)):
          s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
          seen = ""
          for _ in range(3):
              s.sendto(b"hello", ("198.51.100.1", port))
              try:
                  seen = s.recvfrom(2048)[0].decode(); break
              except socket.timeout: pass
          out.append(seen)
      print(json.dumps(out))
      """], check: false)
    return (try? JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String]) ?? []
  }

  @Test func twoWorkersFindEverySessionWhicheverWorkerReceivesItsPackets() throws {
    let c = try NorthSouthCloud(networkWorkers: 2, networkDPDK: true, portRange: "40000-40015")
    defer { c.destroy() }
    #expect((try c.nn.show("node") as? [String: Any])?["workers"] as? Int == 2)
    let servers = try udpServers(c, ports: 7100..<7124)
    defer { if servers.isRunning { servers.terminate() } }

    // 24 flows from two VMs on two compute nodes, each to its own remote port: every reply
    // comes back, so every session was found by its reply, on whichever worker it landed.
    let b1 = try udpFlows(c, from: "b1", ports: 7100..<7112)
    let c2 = try udpFlows(c, from: "c2", ports: 7112..<7124)
    let seen = b1 + c2
    #expect(seen.count == 24 && seen.allSatisfy { $0.hasPrefix("203.0.113.10:") }, "\(seen)")
    let ports = seen.compactMap { Int($0.split(separator: ":").last ?? "") }
    #expect(ports.allSatisfy { (40000...40015).contains($0) }, "\(ports)")

    // Both workers own sessions, each in its own half of the range, and each handed packets
    // of the other's sessions over (the kernel's fanout spreads input over both).
    let udp = try c.sessions(c.nn, "--proto udp")
    #expect(udp.count == 24, "\(udp)")
    let nat = try c.nn.show("nat") as? [String: Any]
    let workers = nat?["workers"] as? [[String: Any]] ?? []
    #expect(workers.count == 2, "\(String(describing: nat))")
    #expect(workers.allSatisfy { ($0["live"] as? Int ?? 0) > 0 }, "\(workers)")
    #expect(workers.map { $0["live"] as? Int ?? 0 }.reduce(0, +) == 24, "\(workers)")
    #expect(workers.allSatisfy { ($0["handed_off"] as? Int ?? 0) > 0 }, "\(workers)")
    let external = udp.compactMap { ($0["external"] as? String)?.split(separator: ":").last.flatMap { Int($0) } }
    #expect(external.contains { $0 < 40008 } && external.contains { $0 >= 40008 }, "\(external)")
    #expect(try c.nn.drops("nat-handoff-ring-full") == 0)

    // show runtime: both workers polled, found packets, and ran snat and nat-handoff.
    let runtime = (try c.nn.show("runtime") as? [String: Any])?["workers"] as? [[String: Any]] ?? []
    #expect(runtime.count == 2, "\(runtime)")
    for w in runtime {
      #expect((w["busy_rounds"] as? Int ?? 0) > 0 && (w["rounds"] as? Int ?? 0) >= (w["busy_rounds"] as? Int ?? 0), "\(w)")
      let idle = w["idle_share"] as? Double ?? -1
      #expect(idle > 0 && idle <= 1, "a mostly idle test node: \(w)")
      let nodes = (w["nodes"] as? [[String: Any]] ?? []).compactMap { $0["node"] as? String }
      #expect(nodes.contains("nat-handoff") && (nodes.contains("snat-in2out") || nodes.contains("snat-out2in")), "\(nodes)")
    }

    // TCP (many packets of one connection, both directions) and ping through either worker.
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("b1"), toNamespace: c.internet, ip: "198.51.100.1", bytes: 500_000),
            "TCP b1 -> internet via SNAT on two workers")
    #expect(try TestCloud.ping(namespace: c.ns("c2"), "198.51.100.1", count: 5), "ping c2 -> internet via SNAT on two workers")
    #expect(try c.traceroute(from: "b1") == ["10.2.0.1", "203.0.113.1", "198.51.100.1"], "traceroute via SNAT on two workers")

    // Exhaustion is per worker: towards one remote endpoint each worker has 8 ports, so of
    // 20 flows at least 8 and at most 16 get through; the others are dropped and counted.
    let one = try sh(["timeout", "-s", "KILL", "60", "ip", "netns", "exec", c.ns("b1"), "python3", "-c", """
      import socket, json
      got, socks = 0, []
      for i in range(20):
          s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5); socks.append(s)
          s.sendto(b"x", ("198.51.100.1", 7100))
          try:
              s.recvfrom(64); got += 1
          except socket.timeout: pass
      print(json.dumps(got))
      """], check: false)
    let got = Int(one.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    // (The flow b1 opened to 7100 above may still hold one of the 16 ports: then 7 at least.)
    #expect((7...16).contains(got), "flows answered: \(one.out)")
    #expect(try c.nn.drops("snat-ports-exhausted") >= 3)
    let exhausted = (try c.nn.show("nat") as? [String: Any])?["workers"] as? [[String: Any]] ?? []
    #expect(exhausted.map { $0["ports_exhausted"] as? Int ?? 0 }.reduce(0, +) >= 3, "\(exhausted)")

    // Every worker expires its own sessions (UDP and ICMP after 10 s here).
    try waitFor("the sessions to expire on both workers", seconds: 30) { try c.sessions(c.nn, "--proto udp").isEmpty }
    let after = (try c.nn.show("nat") as? [String: Any])?["workers"] as? [[String: Any]] ?? []
    #expect(after.allSatisfy { ($0["created"] as? Int ?? 0) > 0 }, "\(after)")
    #expect(try c.nn.show("node") is [String: Any], "the network node still answers")
  }
}
