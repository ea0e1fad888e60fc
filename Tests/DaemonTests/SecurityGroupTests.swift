import Control
import Foundation
import TestSupport
import Testing

/// Security groups end to end (issue 14): kernel TCP, UDP and ping between namespace VMs
/// through gannetd; what a group admits, the replies it lets back, and a rule deletion
/// cutting a live connection while another flow keeps flowing.
@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct SecurityGroupTests {
  /// A TCP echo server in `vm` on every port of `ports` (threads; bounded by `timeout`).
  func echoServer(_ c: TestCloud, in vm: String, ports: [Int]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["timeout", "-s", "KILL", "60", "ip", "netns", "exec", c.vm(vm).ns, "python3", "-c", """
      import socket, threading
      def serve(c):
          while True:
              d = c.recv(256)
              if not d: break
              c.sendall(d)
      def listen(port):
          s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen(8)
          while True:
              c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
      for port in \(ports): threading.Thread(target=listen, args=(port,), daemon=True).start()
      threading.Event().wait()
      """]
    try p.runUnblocked()
    try waitFor("the echo server in \(vm)", seconds: 10) {
      let out = try sh(["ip", "netns", "exec", c.vm(vm).ns, "ss", "-ltnH"]).out
      return ports.allSatisfy { out.contains(":\($0) ") }
    }
    return p
  }

  /// "ok" when a TCP connection to ip:port echoes a line within 2 s, else "timeout"/"refused".
  func connect(_ c: TestCloud, from vm: String, _ ip: String, _ port: Int) throws -> String {
    try sh(["timeout", "-s", "KILL", "10", "ip", "netns", "exec", c.vm(vm).ns, "python3", "-c", """
      import socket
      try:
          s = socket.create_connection(("\(ip)", \(port)), timeout=2); s.sendall(b"hi"); print("ok" if s.recv(16) == b"hi" else "bad")
      except socket.timeout: print("timeout")
      except OSError as e: print("refused")
      """], check: false).out.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test func groupsAdmitWhatTheyAllowTheRepliesAndCutRevokedConnectionsAtOnce() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try c.addVM("web", mac: "fa:16:3e:00:07:01", ip: "10.7.0.1")
    try c.addVM("cli", mac: "fa:16:3e:00:07:02", ip: "10.7.0.2")
    try c.start()
    try c.ctl("network create net-s --tenant t --vni 701")
    try c.ctl("sg create web --tenant t")
    try c.ctl("sg rule-add web --id http --direction ingress --protocol tcp --port 8080")
    try c.ctl("port create web --network net-s --mac fa:16:3e:00:07:01 --ip 10.7.0.1 --local \(c.spec("web")) --security-group web")
    try c.ctl("port create cli --network net-s --mac fa:16:3e:00:07:02 --ip 10.7.0.2 --local \(c.spec("cli"))")
    let server = try echoServer(c, in: "web", ports: [8080, 9090])
    defer { server.terminate() }

    #expect(try connect(c, from: "cli", "10.7.0.1", 8080) == "ok")
    #expect(try connect(c, from: "cli", "10.7.0.1", 9090) == "timeout", "port 9090 has no rule: no answer at all")
    #expect(try c.drops("acl-ingress-deny") >= 1)
    #expect(try !c.ping(from: "cli", "10.7.0.1", count: 2, extra: ["-W", "1"]), "no ICMP rule")
    try c.ctl("sg rule-add web --id ping --direction ingress --protocol icmp --icmp-type 8")
    #expect(try c.ping(from: "cli", "10.7.0.1", count: 3), "echo requests admitted, replies tracked")

    // web's own connections: none without an egress rule; with one, replies need no ingress rule.
    let cliServer = try echoServer(c, in: "cli", ports: [7070])
    defer { cliServer.terminate() }
    #expect(try connect(c, from: "web", "10.7.0.2", 7070) == "timeout")
    #expect(try c.drops("acl-egress-deny") >= 1)
    try c.ctl("sg rule-add web --id out --direction egress --protocol tcp")
    #expect(try connect(c, from: "web", "10.7.0.2", 7070) == "ok")

    // Hits and tracked connections are visible.
    let group = try c.ctl("sg show web")
    #expect(group.contains("http") && group.contains("cli") == false, "\(group)")
    let tracked = try c.ctl("conntrack list --port web --proto tcp")
    #expect(tracked.contains("10.7.0.1:8080") && tracked.contains("10.7.0.2:7070"), "\(tracked)")
    // Per port: what web's rules admitted and refused, each way; cli is not filtered.
    let ports = try JSONSerialization.jsonObject(with: Data(c.ctl("port list --json").utf8)) as? [[String: Any]] ?? []
    let web = ports.first { $0["id"] as? String == "web" }?["acl"] as? [String: Int] ?? [:]
    #expect(web["ingress_allowed"] ?? 0 >= 10 && web["ingress_denied"] ?? 0 >= 3 && web["egress_allowed"] ?? 0 >= 10
            && web["egress_denied"] ?? 0 >= 1, "\(web)")
    #expect(ports.first { $0["id"] as? String == "cli" }?["acl"] == nil, "\(ports)")

    // A live connection to 8080 echoing every 100 ms, and a ping flow: deleting the http rule
    // cuts the connection within 1 s; the ping flow loses nothing.
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    holder.arguments = ["timeout", "-s", "KILL", "20", "ip", "netns", "exec", c.vm("cli").ns, "python3", "-u", "-c", """
      import socket, time
      s = socket.create_connection(("10.7.0.1", 8080), timeout=0.5)
      end = time.time() + 5
      while time.time() < end:
          try:
              s.sendall(b"x"); s.recv(16); print("echo", time.time(), flush=True)
          except OSError: pass
          time.sleep(0.1)
      """]
    let holderOut = Pipe()
    holder.standardOutput = holderOut
    try holder.runUnblocked()
    let pinger = Process()
    pinger.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    pinger.arguments = ["timeout", "-s", "KILL", "20", "ip", "netns", "exec", c.vm("cli").ns, "ping", "-c", "40", "-i", "0.1", "-W", "1", "-q",
                        "10.7.0.1"]
    let pingOut = Pipe()
    pinger.standardOutput = pingOut
    try pinger.runUnblocked()
    var early = Data()
    try waitFor("the held connection to echo", seconds: 5) {
      early += holderOut.fileHandleForReading.availableData
      return String(decoding: early, as: UTF8.self).contains("echo")
    }
    usleep(500_000)   // pacing: let the connection echo a few times before the cut
    let cut = Date().timeIntervalSince1970
    try c.ctl("sg rule-delete web --id http")
    holder.waitUntilExit()
    pinger.waitUntilExit()
    let lines = String(decoding: early + holderOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
    let echoes = lines.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    let last = try #require(echoes.max())
    #expect(echoes.count >= 3, "\(lines)")
    #expect(last < cut + 1.0, "the revoked connection still echoed \(last - cut) s after the commit")
    let summary = String(decoding: pingOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(summary.contains(" 0% packet loss"), "\(summary)")
    // A new rule (it may get the deleted rule's number) starts with no hits.
    try c.ctl("sg rule-add web --id http-alt --direction ingress --protocol tcp --port 8081")
    let rows = try JSONSerialization.jsonObject(with: Data(c.ctl("sg list --json").utf8)) as? [[String: Any]] ?? []
    let rules = rows.first { $0["id"] as? String == "web" }?["rules"] as? [[String: Any]] ?? []
    #expect(rules.first { $0["id"] as? String == "http-alt" }?["hits"] as? Int == 0, "\(rules)")
  }

  /// Two workers: each VM port is polled by its own worker, so a connection's two
  /// directions are handled by different workers; each port still tracks it once.
  @Test func aConnectionSplitAcrossWorkersIsTrackedOncePerPort() throws {
    let c = try TestCloud(workers: 2)
    defer { c.destroy() }
    try c.addVM("a", mac: "fa:16:3e:00:08:01", ip: "10.8.0.1")
    try c.addVM("b", mac: "fa:16:3e:00:08:02", ip: "10.8.0.2")
    try c.start()
    try c.ctl("network create net-w --tenant t --vni 801")
    try c.ctl("sg create default --tenant t")
    try c.ctl("sg rule-add default --id in --direction ingress --protocol tcp --remote-cidr 10.8.0.0/24")
    try c.ctl("sg rule-add default --id out --direction egress")
    // No --security-group: both ports get the tenant's default group.
    try c.ctl("port create a --network net-w --mac fa:16:3e:00:08:01 --ip 10.8.0.1 --local \(c.spec("a"))")
    try c.ctl("port create b --network net-w --mac fa:16:3e:00:08:02 --ip 10.8.0.2 --local \(c.spec("b"))")
    #expect(try c.ctl("sg show default").contains("a, b"))
    #expect(try c.tcpTransfer(from: "a", to: "b", ip: "10.8.0.2", bytes: 500_000))
    for port in ["a", "b"] {
      let count = try c.ctl("conntrack count --port \(port) --proto tcp")
      #expect(count.contains("matched     1\n"), "port \(port): \(count)")
    }
    #expect(try c.drops("ct-invalid") == 0 && c.drops("acl-ingress-deny") == 0 && c.drops("acl-egress-deny") == 0)
  }

  /// OCI security lists on a network, with kernel TCP: a stateless ingress rule without its
  /// reverse lets the SYN in and drops the server's SYN-ACK; its reverse stateless egress rule
  /// makes it work; the stateless rule wins over a stateful one that matches the same SYN.
  @Test func aStatelessListRuleNeedsItsReverseAndBeatsAStatefulOne() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try c.addVM("db", mac: "fa:16:3e:00:09:01", ip: "10.9.9.1")
    try c.addVM("app", mac: "fa:16:3e:00:09:02", ip: "10.9.9.2")
    try c.start()
    try c.ctl("seclist create sl --tenant t")
    try c.ctl("seclist rule-add sl --id out --direction egress --cidr 0.0.0.0/0")
    try c.ctl("seclist rule-add sl --id oracle --direction ingress --stateless --cidr 10.9.9.0/24 --protocol tcp --port 1521")
    try c.ctl("seclist rule-add sl --id tcp-in --direction ingress --cidr 10.9.9.0/24 --protocol tcp")
    try c.ctl("network create net-l --tenant t --vni 901")
    try c.ctl("network update net-l --security-list sl")
    try c.ctl("port create db --network net-l --mac fa:16:3e:00:09:01 --ip 10.9.9.1 --local \(c.spec("db"))")
    try c.ctl("port create app --network net-l --mac fa:16:3e:00:09:02 --ip 10.9.9.2 --local \(c.spec("app"))")
    let server = try echoServer(c, in: "db", ports: [1521, 8080])
    defer { server.terminate() }

    #expect(try connect(c, from: "app", "10.9.9.1", 8080) == "ok", "stateful: the SYN-ACK is a tracked reply")
    let invalid = try c.drops("ct-invalid")
    #expect(try connect(c, from: "app", "10.9.9.1", 1521) == "timeout", "stateless SYN admitted, its SYN-ACK has no rule")
    #expect(try c.drops("ct-invalid") > invalid, "the SYN-ACK starts no connection and matches no stateless rule")
    try c.ctl("seclist rule-add sl --id oracle-back --direction egress --stateless --cidr 10.9.9.0/24 --protocol tcp --source-port 1521")
    #expect(try connect(c, from: "app", "10.9.9.1", 1521) == "ok", "with its reverse rule")
    let lists = try c.ctl("seclist list")
    #expect(lists.contains("net-l") && lists.contains("oracle-back"), "\(lists)")
    // Stateless traffic is not tracked on db's port: only the 8080 connection is.
    let tracked = try c.ctl("conntrack list --port db --proto tcp")
    #expect(tracked.contains("10.9.9.1:8080") && !tracked.contains("10.9.9.1:1521"), "\(tracked)")
  }

  /// A full connection table (1,024 entries) refuses new connections, counted as
  /// ct-table-full, while an established TCP connection keeps echoing every 50 ms; the
  /// refused flows' entries never existed, the admitted ones expire (UDP after 2 s here).
  @Test func aFullTableRefusesNewConnectionsWhileEstablishedOnesFlow() throws {
    let c = try TestCloud(extraConfig: #""conntrack": {"max_connections": 1024, "udp_s": 2}"#)
    defer { c.destroy() }
    try c.addVM("srv", mac: "fa:16:3e:00:0a:01", ip: "10.10.0.1")
    try c.addVM("cli", mac: "fa:16:3e:00:0a:02", ip: "10.10.0.2")
    try c.start()
    try c.ctl("network create net-f --tenant t --vni 1001")
    try c.ctl("sg create default --tenant t")
    try c.ctl("sg rule-add default --id in --direction ingress --remote-cidr 10.10.0.0/24")
    try c.ctl("sg rule-add default --id out --direction egress")
    try c.ctl("port create srv --network net-f --mac fa:16:3e:00:0a:01 --ip 10.10.0.1 --local \(c.spec("srv"))")
    try c.ctl("port create cli --network net-f --mac fa:16:3e:00:0a:02 --ip 10.10.0.2 --local \(c.spec("cli"))")
    let server = try echoServer(c, in: "srv", ports: [8080])
    defer { server.terminate() }
    // The established connection echoes every 50 ms for 6 s and reports each failure.
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    holder.arguments = ["timeout", "-s", "KILL", "20", "ip", "netns", "exec", c.vm("cli").ns, "python3", "-u", "-c", """
      import socket, time
      s = socket.create_connection(("10.10.0.1", 8080), timeout=1)
      print("connected", flush=True)
      ok = bad = 0
      end = time.time() + 6
      while time.time() < end:
          try:
              s.sendall(b"x"); ok += s.recv(16) == b"x"
          except OSError: bad += 1
          time.sleep(0.05)
      print("done", ok, bad, flush=True)
      """]
    let out = Pipe()
    holder.standardOutput = out
    try holder.runUnblocked()
    var seen = Data()
    try waitFor("the held connection", seconds: 5) {
      seen += out.fileHandleForReading.availableData
      return String(decoding: seen, as: UTF8.self).contains("connected")
    }
    // 3,000 UDP flows (distinct destination ports) from cli: each needs an entry on both
    // ports, far more than the table holds.
    try sh(["timeout", "-s", "KILL", "20", "ip", "netns", "exec", c.vm("cli").ns, "python3", "-c", """
      import socket, time
      s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
      for p in range(3000):
          s.sendto(b"u", ("10.10.0.1", 20000 + p))
          if p % 100 == 99: time.sleep(0.02)
      """])
    holder.waitUntilExit()
    let report = String(decoding: seen + out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let words = report.split(whereSeparator: { $0 == " " || $0 == "\n" })
    let done = try #require(words.firstIndex(of: "done"), "\(report)")
    #expect(Int(words[done + 1]) ?? 0 >= 60 && words[done + 2] == "0", "the established connection never failed: \(report)")
    #expect(try c.drops("ct-table-full") >= 100)
    let count = try c.ctl("conntrack count")
    #expect(!count.contains("table_full  0\n"), "\(count)")
    // The UDP entries expire (2 s) and new connections are admitted again.
    try waitFor("the UDP entries to expire", seconds: 15) { try c.ctl("conntrack count --proto udp").contains("matched     0\n") }
    #expect(try connect(c, from: "cli", "10.10.0.1", 8080) == "ok")
  }
}
