import Foundation
import TestSupport
import Testing

/// Security groups on north-south traffic (issue 14), in the north-south cloud of
/// `NorthSouthTests`: the internet host reaches a1 through its floating IP only where a1's
/// group admits it (the rule sees the fixed IP after DNAT); a1's and b1's own connections to
/// the internet (floating IP and SNAT) get their replies back with no ingress rule; and the
/// ICMP errors that traceroute and path-MTU discovery need pass as related, whether the
/// router on the node, the upstream router or the internet host sends them.
@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct SecurityNorthSouthTests {
  @Test func groupsFilterFloatingIPAndSNATTrafficAndLetRelatedErrorsThrough() throws {
    let c = try NorthSouthCloud()
    defer { c.destroy() }
    let n1 = c.n1
    try n1.ctl("sg create web --tenant tenant-a")
    try n1.ctl("sg rule-add web --id tcp-in --direction ingress --protocol tcp --port 5001")
    try n1.ctl("sg rule-add web --id udp-out --direction egress --protocol udp")
    try n1.ctl("sg rule-add web --id ping-out --direction egress --protocol icmp --icmp-type 8")
    try n1.ctl("port update a1 --security-group web")
    try n1.ctl("sg create out --tenant tenant-a")
    try n1.ctl("sg rule-add out --id all-out --direction egress")
    try n1.ctl("port update b1 --security-group out")

    // The internet → a1's floating IP: TCP 5001 is admitted, an echo request is not.
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.internet, toNamespace: c.ns("a1"), ip: "203.0.113.20", bytes: 300_000),
            "TCP internet -> floating IP, port 5001 admitted")
    #expect(try !TestCloud.ping(namespace: c.internet, "203.0.113.20", count: 2, extra: ["-W", "1"]), "no ingress ICMP rule")
    #expect(try n1.drops("acl-ingress-deny") >= 2)
    let tracked = try n1.ctl("conntrack list --port a1 --proto tcp")
    #expect(tracked.contains("10.1.0.10:5001") && tracked.contains("198.51.100.1:"), "rules and connections see the fixed IP: \(tracked)")

    // a1's own traffic out through its floating IP, b1's through SNAT on the network node:
    // the replies come back with no ingress rule.
    #expect(try c.udpEcho(from: "a1") == "203.0.113.20", "UDP a1 -> internet via its floating IP")
    #expect(try TestCloud.ping(namespace: c.ns("a1"), "198.51.100.1"), "ping a1 -> internet: echo replies tracked")
    #expect(try c.udpEcho(from: "b1", port: 7001) == "203.0.113.10", "UDP b1 -> internet via SNAT")
    #expect(try TestCloud.tcpTransfer(fromNamespace: c.ns("b1"), toNamespace: c.internet, ip: "198.51.100.1", bytes: 300_000),
            "TCP b1 -> internet via SNAT")

    // traceroute (UDP probes): the node's router, the upstream router and the internet host
    // answer with ICMP errors that quote a tracked connection: related, admitted.
    #expect(try c.traceroute(from: "a1") == ["10.1.0.1", "203.0.113.1", "198.51.100.1"], "traceroute via floating IP")
    #expect(try c.traceroute(from: "b1") == ["10.2.0.1", "203.0.113.1", "198.51.100.1"], "traceroute via SNAT")
    // Path-MTU discovery: the upstream router's link to the internet gets a 1400 MTU, so a DF
    // packet of 1450 bytes gets its fragmentation-needed from 203.0.113.1 — through a1's
    // floating IP and through SNAT on the network node, quotes translated, then admitted by
    // the group as related to the tracked echo.
    try sh(["ip", "-n", c.upstream, "link", "set", "inet", "mtu", "1400"])
    try sh(["ip", "-n", c.internet, "link", "set", "eth0", "mtu", "1400"])
    for vm in ["a1", "b1"] {
      let df = try sh(["timeout", "-s", "KILL", "20", "ip", "netns", "exec", c.ns(vm), "ping", "-c", "2", "-i", "0.3", "-W", "2", "-M", "do",
                       "-s", "1422", "198.51.100.1"], check: false).out
      #expect(df.contains("mtu = 1400") && df.contains("203.0.113.1"), "\(vm): fragmentation needed through the group: \(df)")
      #expect(try TestCloud.ping(namespace: c.ns(vm), "198.51.100.1", extra: ["-M", "do", "-s", "1372"]), "\(vm): 1400 bytes pass")
    }
    // Without the egress UDP rule, a1's traceroute probes go nowhere, and say so in the counters.
    let denied = try n1.drops("acl-egress-deny")
    try n1.ctl("sg rule-delete web --id udp-out")
    #expect(try c.udpEcho(from: "a1", port: 7002) == "", "no egress UDP rule")
    #expect(try n1.drops("acl-egress-deny") > denied)
  }
}
