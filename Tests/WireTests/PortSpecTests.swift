import Wire
import Testing

/// Port specs from operators and config files: malformed ones are refused with a message,
/// never a crash (fuzz-config found `dpdk:,,,,` crashing the parser).
@Suite struct PortSpecTests {
  @Test func wellFormedSpecs() throws {
    #expect(try PortSpec(parsing: "af-packet:tap0") == .afPacket(interface: "tap0"))
    #expect(try PortSpec(parsing: "dpdk:net_af_packet0,iface=ul0,qpairs=3") == .dpdk(name: "net_af_packet0", args: "iface=ul0,qpairs=3"))
    #expect(try PortSpec(parsing: "dpdk:net_null0") == .dpdk(name: "net_null0", args: ""))
    #expect(try PortSpec(parsing: "null") == .null(name: ""))
    #expect(try PortSpec(parsing: "null:vm1") == .null(name: "vm1"))
    #expect(try PortSpec(parsing: "null:vm1").description == "null:vm1")
    #expect(try PortSpec(parsing: "pcap:/tmp/x.pcap") == .pcapReplay(path: "/tmp/x.pcap"))
    #expect(try PortSpec(parsing: "dpdk:net_af_packet0,iface=ul0").hostResources == ["DPDK device net_af_packet0", "interface ul0"])
    let server = try PortSpec(parsing: "vhost-user:/run/gannet/vm1.sock")
    #expect(server == .vhostUser(path: "/run/gannet/vm1.sock", client: false) && server.needsDPDK && !server.singleQueue)
    #expect(server.description == "vhost-user:/run/gannet/vm1.sock" && server.hostResources == ["socket /run/gannet/vm1.sock"])
    let client = try PortSpec(parsing: "vhost-user-client:/var/lib/qemu/vm2.sock")
    #expect(client == .vhostUser(path: "/var/lib/qemu/vm2.sock", client: true) && client.description == "vhost-user-client:/var/lib/qemu/vm2.sock")
    // One vdev name per socket path, stable and distinct.
    let n1 = PortSpec.vhostVdevName(path: "/run/gannet/vm1.sock"), n2 = PortSpec.vhostVdevName(path: "/run/gannet/vm2.sock")
    #expect(n1 == PortSpec.vhostVdevName(path: "/run/gannet/vm1.sock") && n1 != n2 && n1.hasPrefix("net_vhost") && n1.count == 17)
  }

  @Test func malformedSpecsAreRefused() {
    for bad in ["dpdk:,,,,", "dpdk:,", "dpdk:,net_null0", "dpdk:", "af-packet:", "af-packet:a/b", "af-packet:0123456789abcdef",
                "tap0", "vhost:x", ":", "", "vhost-user:relative.sock", "vhost-user:/a,b.sock", "vhost-user-client:",
                "vhost-user:/" + String(repeating: "x", count: 120)] {
      #expect(throws: PortSpecError.self, "'\(bad)'") { _ = try PortSpec(parsing: bad) }
    }
  }
}
