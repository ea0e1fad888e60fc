import Control
import Foundation
import TestSupport
import Testing

/// End-to-end: VMs are network namespaces, gannetd is a child process attached to their
/// veths, programmed only through gannetctl; the peers are the kernel's own ping and TCP.
/// Each case runs on AF_PACKET and on DPDK's net_af_packet.
@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct TenantL2Tests {
  enum Backend: String, CaseIterable, Sendable { case afPacket, dpdk }

  /// Two tenants, identical addresses: a1/a2 on net-a and b1/b2 on net-b, where a1 and b1
  /// share MAC and IP, and so do a2 and b2.
  func twoTenants(_ c: TestCloud) throws {
    try c.addVM("a1", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1")
    try c.addVM("a2", mac: "fa:16:3e:00:00:02", ip: "10.0.0.2")
    try c.addVM("b1", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1")
    try c.addVM("b2", mac: "fa:16:3e:00:00:02", ip: "10.0.0.2")
    try c.start()
    try c.ctl("network create net-a --tenant tenant-a --vni 1001")
    try c.ctl("network create net-b --tenant tenant-b --vni 1002")
    for (vm, net, n) in [("a1", "net-a", 1), ("a2", "net-a", 2), ("b1", "net-b", 1), ("b2", "net-b", 2)] {
      try c.ctl("port create \(vm) --network \(net) --mac fa:16:3e:00:00:0\(n) --ip 10.0.0.\(n) --local \(c.spec(vm))")
    }
  }

  @Test(arguments: Backend.allCases)
  func pingAndTCPWithinANetwork(_ backend: Backend) throws {
    let c = try TestCloud(dpdk: backend == .dpdk)
    defer { c.destroy() }
    try twoTenants(c)
    #expect(try c.ping(from: "a1", "10.0.0.2"), "a1 -> a2: \(c.log())")
    #expect(try c.ping(from: "b2", "10.0.0.1"), "b2 -> b1")
    #expect(try c.tcpTransfer(from: "a1", to: "a2", ip: "10.0.0.2"), "TCP a1 -> a2")
    #expect(try c.tcpTransfer(from: "b2", to: "b1", ip: "10.0.0.1"), "TCP b2 -> b1")
    let ports = try c.show("ports") as? [[String: Any]] ?? []
    #expect(ports.count == 4)
    #expect(ports.allSatisfy { $0["status"] as? String == "up" })
  }

  /// Two workers: a1 and b1 are polled by worker 0, a2 and b2 by worker 1 (ports are
  /// spread round-robin in id order), so every packet here is received by one worker and
  /// sent on the other's port, through the receiving worker's own TX queue.
  @Test(arguments: Backend.allCases)
  func twoWorkersForwardAcrossEachOther(_ backend: Backend) throws {
    let c = try TestCloud(dpdk: backend == .dpdk, workers: 2)
    defer { c.destroy() }
    try twoTenants(c)
    #expect((try c.show("node") as? [String: Any])?["workers"] as? Int == 2)
    #expect(try c.ping(from: "a1", "10.0.0.2"), "a1 -> a2: \(c.log())")
    #expect(try c.ping(from: "b2", "10.0.0.1"), "b2 -> b1")
    #expect(try c.tcpTransfer(from: "a1", to: "a2", ip: "10.0.0.2"), "TCP a1 -> a2")
    #expect(try c.tcpTransfer(from: "b2", to: "b1", ip: "10.0.0.1"), "TCP b2 -> b1")
  }

  @Test(arguments: Backend.allCases)
  func tenantsWithIdenticalAddressesNeverCross(_ backend: Backend) throws {
    let c = try TestCloud(dpdk: backend == .dpdk)
    defer { c.destroy() }
    try twoTenants(c)
    // Positive control: the capture does see tenant A's pings on tenant A's VM.
    let seenByA2 = try c.capture(on: "a2", filter: "icmp.type == 8") { () throws in
      #expect(try c.ping(from: "a1", "10.0.0.2", count: 5))
    }
    #expect(seenByA2.count >= 5, "\(seenByA2)")
    // While tenant A pings, tenant B's VMs (same MACs, same IPs) see none of it.
    let seenByB = try c.capture(on: "b2", filter: "icmp || arp") { () throws in
      #expect(try c.ping(from: "a1", "10.0.0.2", count: 5))
    }
    #expect(seenByB.isEmpty, "tenant B saw tenant A's frames: \(seenByB)")
    // Tenant A's second VM goes away: a1's ARP for 10.0.0.2 must not reach b2, which has
    // that address, and the drop counters say why.
    try c.ctl("port delete a2")
    let before = try c.drops("l2-flood-no-members")
    let leaked = try c.capture(on: "b2", filter: "arp || icmp") { () throws in
      #expect(try !c.ping(from: "a1", "10.0.0.2", count: 2))
    }
    #expect(leaked.isEmpty, "leaked to tenant B: \(leaked)")
    #expect(try c.drops("l2-flood-no-members") > before)
    // A VM that forges its source MAC is stopped at its port.
    try c.ctl("port create a2 --network net-a --mac fa:16:3e:00:00:02 --ip 10.0.0.2 --local \(c.spec("a2"))")
    _ = try sh(["ip", "-n", c.vms["a1"]!.ns, "link", "set", "eth0", "address", "fa:16:3e:00:00:99"])
    #expect(try !c.ping(from: "a1", "10.0.0.2", count: 2))
    #expect(try c.drops("l2-source-spoofed") > 0)
  }

  @Test(arguments: Backend.allCases)
  func portsAddedMovedAndRemovedWhileTrafficFlows(_ backend: Backend) throws {
    let c = try TestCloud(dpdk: backend == .dpdk)
    defer { c.destroy() }
    try c.addVM("v1", mac: "fa:16:3e:00:01:01", ip: "10.1.0.1")
    try c.addVM("v2", mac: "fa:16:3e:00:01:02", ip: "10.1.0.2")
    try c.addVM("v3", mac: "fa:16:3e:00:01:03", ip: "10.1.0.3")
    try c.addVM("v2moved", mac: "fa:16:3e:00:01:02", ip: "10.1.0.2")   // where v2 "migrates" to
    try c.start()
    try c.ctl("network create net --tenant t --vni 2001")
    try c.ctl("port create v1 --network net --mac fa:16:3e:00:01:01 --ip 10.1.0.1 --local \(c.spec("v1"))")
    try c.ctl("port create v2 --network net --mac fa:16:3e:00:01:02 --ip 10.1.0.2 --local \(c.spec("v2"))")
    #expect(try c.ping(from: "v1", "10.1.0.2"))

    // A steady ping v1 -> v2 runs while v3 is added and removed: it must lose nothing.
    let steady = Process()
    steady.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    steady.arguments = ["ip", "netns", "exec", c.vms["v1"]!.ns, "ping", "-c", "40", "-i", "0.1", "-W", "2", "-q", "10.1.0.2"]
    let out = Pipe()
    steady.standardOutput = out
    try steady.runUnblocked()
    try c.ctl("port create v3 --network net --mac fa:16:3e:00:01:03 --ip 10.1.0.3 --local \(c.spec("v3"))")
    #expect(try c.ping(from: "v3", "10.1.0.1"), "added port works at once")
    try c.ctl("port delete v3")
    #expect(try !c.ping(from: "v3", "10.1.0.1", count: 2), "removed port is cut off")
    steady.waitUntilExit()
    let summary = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(summary.contains(" 0% packet loss"), "unrelated traffic was disturbed: \(summary)")

    // v2 moves to another interface (its VM migrated): traffic follows without a restart.
    try c.ctl("port update v2 --local \(c.spec("v2moved"))")
    let atNewPlace = try c.capture(on: "v2moved", filter: "icmp.type == 8") { () throws in
      #expect(try c.ping(from: "v1", "10.1.0.2"))
    }
    #expect(atNewPlace.count >= 3, "\(atNewPlace)")
  }

  @Test func restartRestoresConfiguration() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try twoTenants(c)
    #expect(try c.ping(from: "a1", "10.0.0.2"))
    let before = try c.show("state") as? [String: Any]
    c.stop(kill: true)                       // a crash, not a clean stop
    try c.start()
    let after = try c.show("state") as? [String: Any]
    // show state is the configuration as persisted: identical after the crash.
    #expect(NSDictionary(dictionary: before ?? [:]) == NSDictionary(dictionary: after ?? [:]))
    #expect(((after?["ports"] as? [String: Any]) ?? [:]).keys.sorted() == ["a1", "a2", "b1", "b2"])
    #expect(try c.ping(from: "a1", "10.0.0.2"))
    #expect(try c.ping(from: "b1", "10.0.0.2"))
  }
}

/// Control requests that are wrong in every way get a coded error and change nothing.
/// gannetd runs here with no interfaces at all (no namespaces needed beyond its own).
@Suite(.serialized, .enabled(if: isRoot, "runs gannetd in a network namespace: needs root"))
struct ControlSocketTests {
  @Test func malformedRequestsChangeNothing() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try c.addVM("a1", mac: "fa:16:3e:00:00:01", ip: "10.0.0.1")
    try c.start()
    try c.ctl("network create net-a --tenant t --vni 1001")
    try c.ctl("port create a1 --network net-a --mac fa:16:3e:00:00:01 --local \(c.spec("a1"))")
    let client = ControlClient(path: c.socket)
    let before = try client.call(.show(.state)) as? [String: Any]

    let cases: [(String, String)] = [
      ("{not json", "bad-request"),
      ("[1,2,3]", "bad-request"),
      (#"{"op": "show.node"}"#, "bad-request"),                                          // no version
      (#"{"version": 2, "op": "show.node"}"#, "unsupported-version"),
      (#"{"version": 1, "op": "port.explode"}"#, "unknown-op"),
      (#"{"version": 1, "op": "network.create", "args": {"id": "x", "tenant": "t", "vni": 7, "colour": "red"}}"#, "bad-request"),
      (#"{"version": 1, "op": "network.create", "args": {"id": "x", "tenant": "t", "vni": "7"}}"#, "bad-request"),
      (#"{"version": 1, "op": "network.create", "args": {"id": "x", "tenant": "t", "vni": 16777216}}"#, "bad-request"),
      (#"{"version": 1, "op": "network.create", "args": {"id": "x", "tenant": "t", "vni": 7, "learning": 1}}"#, "bad-request"),
      (#"{"version": 1, "op": "network.create", "args": {"id": "net-a", "tenant": "t", "vni": 9}}"#, "exists"),
      (#"{"version": 1, "op": "network.create", "args": {"id": "x", "tenant": "t", "vni": 1001}}"#, "conflict"),
      (#"{"version": 1, "op": "port.create", "args": {"id": "p", "network": "missing", "mac": "fa:16:3e:00:00:05", "remote": "192.0.2.9"}}"#, "not-found"),
      (#"{"version": 1, "op": "port.create", "args": {"id": "p", "network": "net-a", "mac": "fa:16:3e:00:00:01", "remote": "192.0.2.9"}}"#, "conflict"),
      (#"{"version": 1, "op": "port.create", "args": {"id": "p", "network": "net-a", "mac": "01:00:5e:00:00:01", "remote": "192.0.2.9"}}"#, "bad-request"),
      (#"{"version": 1, "op": "port.create", "args": {"id": "p", "network": "net-a", "mac": "fa:16:3e:00:00:05"}}"#, "bad-request"),
      (#"{"version": 1, "op": "port.create", "args": {"id": "p", "network": "net-a", "mac": "fa:16:3e:00:00:05", "local": "af-packet:nope0"}}"#, "io"),
      (#"{"version": 1, "op": "port.delete", "args": {"id": "ghost"}}"#, "not-found"),
      (#"{"version": 1, "op": "network.delete", "args": {"id": "net-a"}}"#, "in-use"),
      // The first request of this batch is fine, the second is not: neither may apply.
      (#"{"version": 1, "op": "batch", "args": {"requests": [{"op": "network.create", "args": {"id": "n2", "tenant": "t", "vni": 5}}, {"op": "port.create", "args": {"id": "p", "network": "n2", "mac": "zz", "remote": "192.0.2.9"}}]}}"#, "bad-request"),
      (#"{"version": 1, "op": "batch", "args": {"requests": [{"op": "network.create", "args": {"id": "n2", "tenant": "t", "vni": 5}}, {"op": "port.create", "args": {"id": "p", "network": "n2", "mac": "fa:16:3e:00:00:01", "local": "af-packet:nope0"}}]}}"#, "io"),
    ]
    for (line, code) in cases {
      let reply = try client.sendRaw(Data(line.utf8))
      #expect(reply["ok"] as? Bool == false, "\(line)")
      let err = reply["error"] as? [String: Any]
      #expect(err?["code"] as? String == code, "\(line): \(err ?? [:])")
      #expect((err?["message"] as? String)?.isEmpty == false)
    }
    let after = try client.call(.show(.state)) as? [String: Any]
    #expect(NSDictionary(dictionary: before ?? [:]) == NSDictionary(dictionary: after ?? [:]))
    // The daemon is still there and still works.
    try c.ctl("network create n2 --tenant t --vni 5")
    #expect(try c.ctl("network list").contains("n2"))
  }

  @Test func gannetctlReportsErrorsWithCodeAndExitStatus() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    try c.start()
    let r = try sh([executable("gannetctl"), "port", "delete", "ghost", "--socket", c.socket], check: false)
    #expect(r.status == 1)
    #expect(r.out.contains("error (not-found): no port 'ghost'"))
    let bad = try sh([executable("gannetctl"), "network", "create", "x", "--tenant", "t", "--vni", "0", "--socket", c.socket], check: false)
    #expect(bad.status != 0)
    #expect(bad.out.contains("vni"))
  }

  @Test func badConfigFailsNamingTheField() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    let cases = [
      (#"{"node": {"name": "n", "role": "router", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}}"#, "'role'"),
      (#"{"node": {"name": "n", "role": "compute", "tunnel_ip": "192.0.2.300", "dvr_host_mac": "fa:16:3f:00:00:01"}}"#, "'tunnel_ip'"),
      (#"{"node": {"name": "n", "role": "compute", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}, "wokers": 2}"#, "'wokers'"),
      (#"{"node": {"name": "n", "role": "compute", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}, "workers": 2, "cores": [0]}"#, "'cores'"),
      (#"{"node": {"name": "n", "role": "compute", "tunnel_ip": "192.0.2.1"}}"#, "'dvr_host_mac'"),
      ("{", "not valid JSON"),
      (#"{"node": {"name": "n", "role": "compute", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}, "underlay": {"interface": "eth9"}}"#,
       "'interface'"),
      (#"{"node": {"name": "n", "role": "compute", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}, "underlay": {"interface": "af-packet:ul0", "prefix_length": 40}}"#,
       "'prefix_length'"),
      (#"{"node": {"name": "n", "role": "compute", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}, "underlay": {"interface": "af-packet:ul0", "gw": "192.0.2.254"}}"#,
       "'gw'"),
      // A well-formed config whose underlay interface does not exist: the daemon says so.
      (#"{"node": {"name": "n", "role": "compute", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}, "underlay": {"interface": "af-packet:nosuchif0"}}"#,
       "cannot attach the underlay"),
      (#"{"node": {"name": "n", "role": "network", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}, "nat": {"udp_s": 0}}"#,
       "'udp_s'"),
      (#"{"node": {"name": "n", "role": "network", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}, "nat": {"max_session": 5}}"#,
       "'max_session'"),
      (#"{"node": {"name": "n", "role": "compute", "tunnel_ip": "192.0.2.1", "dvr_host_mac": "fa:16:3f:00:00:01"}, "uplink": {"interface": "af-packet:nosuchif1"}}"#,
       "cannot attach the uplink"),
    ]
    for (text, field) in cases {
      try text.write(toFile: c.configFile, atomically: true, encoding: .utf8)
      let r = try sh([executable("gannetd"), "--config", c.configFile], check: false)
      #expect(r.status == 2, "\(text)")
      #expect(r.out.contains(field), "\(text): \(r.out)")
    }
  }
}

@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct MACLearningTests {
  func fdbRows(_ c: TestCloud) throws -> [[String: Any]] { try c.show("fdb") as? [[String: Any]] ?? [] }

  @Test func macsBehindAPortAreLearnedAgedAndLimited() throws {
    let c = try TestCloud()
    defer { c.destroy() }
    // v1's port has port security off and its VM uses a MAC the control plane never heard of.
    try c.addVM("v1", mac: "fa:16:3e:00:05:99", ip: "10.5.0.1")
    try c.addVM("v2", mac: "fa:16:3e:00:05:02", ip: "10.5.0.2")
    try c.addVM("v3", mac: "fa:16:3e:00:05:98", ip: "10.5.0.3")
    try c.start()
    try c.ctl("network create net --tenant t --vni 3001 --learning --aging-seconds 4 --learning-limit 1")
    try c.ctl("port create v1 --network net --mac fa:16:3e:00:05:01 --ip 10.5.0.1 --local \(c.spec("v1")) --no-port-security")
    try c.ctl("port create v2 --network net --mac fa:16:3e:00:05:02 --ip 10.5.0.2 --local \(c.spec("v2"))")
    try c.ctl("port create v3 --network net --mac fa:16:3e:00:05:03 --ip 10.5.0.3 --local \(c.spec("v3")) --no-port-security")

    // The VMs' ARP caches are pinned, so that after the pings no VM sends anything: the
    // kernel's own neighbour probes (5 s after a reply, RFC 1122's 2.3.2.1 refresh) would
    // otherwise re-announce a MAC during the idle period that the test measures.
    for (vm, neighbours) in [("v1", [("10.5.0.2", "fa:16:3e:00:05:02"), ("10.5.0.3", "fa:16:3e:00:05:98")]),
                             ("v2", [("10.5.0.1", "fa:16:3e:00:05:99"), ("10.5.0.3", "fa:16:3e:00:05:98")]),
                             ("v3", [("10.5.0.1", "fa:16:3e:00:05:99"), ("10.5.0.2", "fa:16:3e:00:05:02")])] {
      for (ip, mac) in neighbours {
        try sh(["ip", "-n", c.vm(vm).ns, "neigh", "replace", ip, "lladdr", mac, "dev", "eth0", "nud", "permanent"])
      }
    }
    #expect(try c.ping(from: "v2", "10.5.0.1", count: 5))
    let learned = try fdbRows(c).filter { ($0["kind"] as? String)?.hasPrefix("learned") == true }
    #expect(learned.count == 1, "\(learned)")
    #expect(learned.first?["mac"] as? String == "fa:16:3e:00:05:99")
    #expect(learned.first?["port"] as? String == "v1")

    // The limit is 1: v3's unknown MAC is not learned while v1's is held (traffic still
    // flows, by flooding), and the refusal is counted.
    #expect(try c.ping(from: "v3", "10.5.0.2", count: 3))
    let node = try c.show("node") as? [String: Any]
    #expect((node?["learning_refused_at_limit"] as? Int ?? 0) > 0)
    #expect(try fdbRows(c).filter { $0["mac"] as? String == "fa:16:3e:00:05:98" }.isEmpty)

    // Idle for longer than the aging time (4 s): the learned MAC is forgotten — not before
    // half of it, and within a few seconds after all of it.
    let idleSince = Date()
    func learnedNow() throws -> Int { try fdbRows(c).filter { ($0["kind"] as? String)?.hasPrefix("learned") == true }.count }
    while try learnedNow() > 0 && Date().timeIntervalSince(idleSince) < 15 { usleep(200_000) }
    let left = try fdbRows(c).filter { ($0["kind"] as? String)?.hasPrefix("learned") == true }
    #expect(left.isEmpty, "still learned after 15 s idle: \(left)")
    #expect(Date().timeIntervalSince(idleSince) >= 2, "forgotten before half the aging time")
  }
}
