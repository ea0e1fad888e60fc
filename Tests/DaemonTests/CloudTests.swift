import Control
import Foundation
import TestSupport
import Testing

// One cloud driven through etcd (issue 19): the north-south cloud of `NorthSouthTests`
// (n1, n2 compute, nn network; a1, b1 on n1, c2 on n2; r1 with SNAT on nn, a floating IP
// on a1) programmed only with `gannetctl --cloud` against Debian's etcd, each node's
// gannet-agent turning it into its gannetd's program. Peers are the kernel's ping and TCP.

@Suite(.serialized, .enabled(if: isRoot && EtcdServer.available, "needs root (namespaces) and Debian's etcd-server and etcd-client"))
struct CloudTests {
  /// Runs `gannetctl ARGS --cloud URL`.
  @discardableResult
  static func cloud(_ etcd: EtcdServer, _ args: String, check: Bool = true) throws -> String {
    try sh([executable("gannetctl")] + args.split(separator: " ").map(String.init) + ["--cloud", etcd.url], check: check).out
  }

  /// Waits until every agent in `agents` has applied revision `revision` or later.
  static func converged(_ agents: [AgentProcess], at revision: Int, seconds: Double = 15) throws {
    for a in agents {
      try waitFor("\(a.node.name)'s agent to apply revision \(revision) (\(a.log().suffix(400)))", seconds: seconds) {
        ((try? a.status())?["applied_revision"] as? Int ?? 0) >= revision
      }
    }
  }

  static func ping(_ ns: String, _ ip: String, count: Int = 3) throws -> Bool {
    try TestCloud.ping(namespace: ns, ip, count: count)
  }

  /// A background ping from `ns` to `ip`: `count` probes 0.1 s apart; the summary when it ends.
  static func startPing(_ ns: String, _ ip: String, count: Int) throws -> (Process, Pipe) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["timeout", "-s", "KILL", "\(count / 5 + 10)", "ip", "netns", "exec", ns, "ping", "-c", "\(count)", "-i", "0.1", "-W", "1", "-q", ip]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.runUnblocked()
    return (p, pipe)
  }
  static func summary(_ ping: (Process, Pipe)) -> (received: Int, text: String) {
    ping.0.waitUntilExit()
    let text = String(decoding: ping.1.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let received = text.split(separator: ",").first { $0.contains("received") }.flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
    return (received, text)
  }

  @Test func theNorthSouthCloudRunsFromEtcdThroughMovesFailuresAndOutages() throws {
    let etcd = try EtcdServer()
    defer { etcd.destroy() }
    let metricsPort = Int.random(in: 40_000..<50_000)
    let c = try NorthSouthCloud(programmed: false, n1Metrics: metricsPort)
    func agentConnected() throws -> Double? {
      Scrape.sample(try Scrape.fetch(c.n1.host, "http://127.0.0.1:\(metricsPort)/metrics"), "gannet_agent_connected")
    }
    defer { c.destroy() }
    var agents: [AgentProcess] = []
    defer { for a in agents { a.stop(kill: true) } }
    for node in [c.n1, c.n2, c.nn] { agents.append(try AgentProcess(node, etcd: etcd.url)) }
    let (a1, a2, an) = (agents[0], agents[1], agents[2])

    // Every node registers itself; chassis come from the registry, never by hand.
    try waitFor("three nodes alive", seconds: 15) {
      try Self.cloud(etcd, "cloud nodes").split(separator: "\n").filter { $0.contains(" alive ") }.count == 3
    }
    #expect(try Self.cloud(etcd, "chassis set --tunnel-ip 10.9.0.9 --dvr-mac fa:16:3f:00:00:99", check: false).contains("node registry"))

    // The cloud, written once, cloud-wide.
    for k in 1...2 { try Self.cloud(etcd, "network create net-\(k) --tenant tenant-a --vni \(100 + k)") }
    try Self.cloud(etcd, "router create r1 --tenant tenant-a")
    for k in 1...2 { try Self.cloud(etcd, "router interface-add r1 --network net-\(k) --address 10.\(k).0.1/24 --mac fa:16:3e:ff:0\(k):00") }
    try Self.cloud(etcd, "gateway set r1 --external-ip 203.0.113.10/24 --upstream 203.0.113.1 --mac fa:16:3e:ee:00:01 --snat-node 10.9.0.3 "
                   + "--port-range 40000-40100")
    for v in NorthSouthCloud.vms {
      let node = v.node == 1 ? c.n1 : c.n2
      try Self.cloud(etcd, "port create \(v.id) --network net-\(v.net) --mac \(NorthSouthCloud.mac(v.ip)) --ip \(v.ip) "
                     + "--local \(node.spec(v.id)) --node \(node.name)")
    }
    try Self.cloud(etcd, "fip create 203.0.113.20 --port a1")
    // Checked against the whole cloud before anything is written.
    let duplicate = try Self.cloud(etcd, "port create x9 --network net-1 --mac fa:16:3e:01:00:7a --ip 10.1.0.10 --local af-packet:x --node \(c.n1.name)",
                                   check: false)
    #expect(duplicate.contains("error (conflict): IP 10.1.0.10 is already used by port 'a1'"), "\(duplicate)")
    #expect(try Self.cloud(etcd, "port create x9 --network net-1 --mac fa:16:3e:01:00:0b --local af-packet:x --node nowhere", check: false)
      .contains("no node 'nowhere' is registered"))
    let programmed = try etcd.revision()
    try Self.converged(agents, at: programmed)
    for node in [c.n1, c.n2, c.nn] {
      let listed = try node.ctl("show ports")
      #expect((try node.show("ports") as? [[String: Any]])?.count == 3, "\(node.name): \(listed)")
      _ = try node.resolvedTunnels()
    }
    #expect(try Self.ping(c.ns("a1"), "10.1.0.20"), "a1 -> c2: east-west over VXLAN")
    #expect(try Self.ping(c.ns("c2"), "10.2.0.10"), "c2 -> b1: routed on c2's node")
    #expect(try Self.ping(c.internet, "203.0.113.20"), "internet -> a1's floating IP")
    #expect(try c.udpEcho(from: "c2") == "203.0.113.10", "c2 -> internet through SNAT on nn")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("a1"), toNamespace: c.ns("c2"), ip: "10.1.0.20", bytes: 1_000_000), "TCP a1 -> c2")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.internet, toNamespace: c.ns("a1"), ip: "203.0.113.20", bytes: 1_000_000),
            "TCP internet -> a1 through its floating IP")

    // A port moved to another node while it is pinged: a1, with its floating IP, from n1 to
    // n2 (its interface plugged there first) while the internet host pings the floating IP.
    // The loss is bounded; the floating IP follows with a gratuitous ARP from n2.
    let during = try Self.startPing(c.internet, "203.0.113.20", count: 60)
    usleep(1_000_000)   // pacing: the move happens while the ping runs, not a wait for a condition
    try c.n1.moveInterface(c.n1.vm("a1").hostIf, to: c.n2)
    try Self.cloud(etcd, "port update a1 --node \(c.n2.name)")
    let moved = try etcd.revision()
    try Self.converged(agents, at: moved)
    let (received, text) = Self.summary(during)
    print("port move a1 n1 -> n2 while its floating IP is pinged: \(60 - received) of 60 probes lost (0.1 s apart)")
    #expect(received >= 40, "a1's move lost more than 2 s of probes: \(text)")
    let n2Uplink = try TestCloud.mac(namespace: c.n2.host, interface: "up0")
    let neighbour = try sh(["ip", "-n", c.upstream, "neigh", "show", "203.0.113.20"]).out
    #expect(neighbour.contains(n2Uplink), "the upstream router learned the floating IP's new node: \(neighbour), n2 uplink \(n2Uplink)")
    #expect(try Self.ping(c.ns("b1"), "10.1.0.10"), "b1 -> a1 on its new node (routed across nodes)")
    let a1Row = (try c.n1.show("ports") as? [[String: Any]])?.first { $0["id"] as? String == "a1" }
    #expect(a1Row?["remote"] as? String == "10.9.0.2", "\(String(describing: a1Row))")

    // A node dies (gannetd and agent killed): within its lease (3 s) every other node drops
    // its ports and their tunnels; its VMs are evacuated to n1 and reachable again.
    c.n2.stop(kill: true)
    a2.stop(kill: true)
    let killedAt = Date()
    for node in [c.n1, c.nn] {
      try waitFor("\(node.name) to drop its tunnel to the dead n2", seconds: 10) {
        ((try node.show("tunnels") as? [[String: Any]]) ?? []).allSatisfy { $0["remote"] as? String != "10.9.0.2" }
      }
    }
    print("node n2 killed: withdrawn everywhere after \(String(format: "%.1f", Date().timeIntervalSince(killedAt))) s (lease 3 s)")
    #expect(try Self.cloud(etcd, "cloud nodes").contains(" down "))
    try c.n2.moveInterface(c.n1.vm("a1").hostIf, to: c.n1)
    try c.n2.moveInterface(c.n2.vm("c2").hostIf, to: c.n1)
    let evacuated = try Self.cloud(etcd, "cloud evacuate \(c.n2.name) --to \(c.n1.name)")
    #expect(evacuated.contains("moved 2 ports"), "\(evacuated)")
    try Self.converged([a1, an], at: try etcd.revision())
    #expect(try Self.ping(c.ns("a1"), "10.1.0.20", count: 5), "a1 -> c2, both evacuated to n1")
    #expect(try Self.ping(c.ns("a1"), "10.2.0.10", count: 5), "a1 evacuated -> b1 on n1")
    #expect(try Self.ping(c.internet, "203.0.113.20", count: 5), "internet -> a1's floating IP, back on n1")

    // etcd stops: forwarding goes on with 0 % loss and the agents say so.
    etcd.stop()
    let outage = try Self.startPing(c.internet, "203.0.113.20", count: 30)
    for a in [a1, an] {
      try waitFor("\(a.node.name)'s agent to report disconnected", seconds: 10) { (try a.status())["connected"] as? Bool == false }
    }
    let (got, outageText) = Self.summary(outage)
    #expect(got == 30, "forwarding while etcd is down: \(outageText)")
    #expect(try c.n1.ctl("show node").contains("connected          no"))
    #expect(try agentConnected() == 0, "the metrics say so too")
    // n1's agent is held while etcd comes back and the cloud changes twice and is compacted:
    // it must resume, find its history gone, list again and converge; nn's follows live.
    a1.signal(SIGSTOP)
    try etcd.start()
    try Self.cloud(etcd, "network create net-3 --tenant tenant-a --vni 103")
    try Self.cloud(etcd, "fip create 203.0.113.21 --port c2")
    let changed = try etcd.revision()
    try etcd.ctl(["compact", "\(changed)"])
    a1.signal(SIGCONT)
    try Self.converged([a1, an], at: changed, seconds: 20)
    #expect(a1.log().contains("compacted"), "n1's agent relisted after the compaction: \(a1.log().suffix(600))")
    #expect((try c.n1.show("networks") as? [[String: Any]])?.count == 3)
    #expect(try Self.ping(c.internet, "203.0.113.21"), "internet -> c2's new floating IP on n1")
    #expect((try a1.status())["connected"] as? Bool == true)
    try waitFor("n1's metrics to say the agent is connected again", seconds: 10) { try agentConnected() == 1 }

    // Bad input straight into etcd: unreadable JSON and a port on a network that does not
    // exist. Every agent refuses them, counts them, and keeps its program whole.
    let refusedBefore = try a1.status()["refused_objects"] as? Int ?? 0, revisionsBefore = try a1.status()["refused_revisions"] as? Int ?? 0
    let generations = try [c.n1, c.nn].map { try $0.json(["show", "node"])["generation"] as? Int ?? 0 }
    try etcd.ctl(["put", "/gannet/objects/ports/junk", "{not json"])
    try etcd.ctl(["put", "/gannet/objects/ports/ghost",
                  #"{"id":"ghost","network":"net-9","mac":"fa:16:3e:09:00:01","fixedIPs":[],"location":{"local":{"_0":"af-packet:nope"}},"portSecurity":true,"node":"\#(c.n1.name)"}"#])
    for a in [a1, an] {
      try waitFor("\(a.node.name)'s agent to refuse both", seconds: 10) {
        let s = try a.status()
        return (s["refused_objects"] as? Int ?? 0) > (a === a1 ? refusedBefore : 0) && (s["refused_revisions"] as? Int ?? 0) > (a === a1 ? revisionsBefore : 0)
      }
      #expect(a.log().contains("refused object /gannet/objects/ports/junk"), "\(a.log().suffix(600))")
    }
    #expect(try [c.n1, c.nn].map { try $0.json(["show", "node"])["generation"] as? Int ?? 0 } == generations, "nothing half-applied")
    #expect(try Self.ping(c.ns("a1"), "10.1.0.20"))
    try etcd.ctl(["del", "/gannet/objects/ports/ghost"])
    try etcd.ctl(["del", "/gannet/objects/ports/junk"])
    try Self.cloud(etcd, "network delete net-3")
    try Self.converged([a1, an], at: try etcd.revision())
    #expect((try c.n1.show("networks") as? [[String: Any]])?.count == 2)
  }
}
