import Control
import Foundation
import Testing
import Wire

/// The one grammar for MACs, IPv4 addresses and prefixes (Wire), and what the control
/// protocol therefore refuses: every string here was accepted before (issue 11's fuzzing).
@Suite struct GrammarTests {
  @Test func macAddresses() {
    for good in ["fa:16:3e:00:00:01", "FA:16:3E:00:00:01", "fa-16-3e-00-00-01"] {
      #expect(MACAddress(good) == MACAddress(0xfa, 0x16, 0x3e, 0, 0, 1), "\(good)")
    }
    for bad in ["+a:16:3e:00:00:01", "fa:16:3e:00:00:+1", "fa::16:3e:00:00:01", ":fa:16:3e:00:00:01", "fa:16:3e:00:00:01:",
                "fa:16:3e:00:00", "fa:16:3e:00:00:1", "fa:16-3e:00:00:01", " fa:16:3e:00:00:01", "fa:16:3e:00:00:0g",
                "fa:16:3e:00:00:-1", "fa16.3e00.0001", ""] {
      #expect(MACAddress(bad) == nil, "'\(bad)' must be refused")
    }
  }

  @Test func ipv4Addresses() {
    for (good, v) in [("10.77.0.5", UInt32(0x0a4d_0005)), ("0.0.0.0", 0), ("255.255.255.255", .max), ("192.0.2.100", 0xc000_0264)] {
      #expect(IPv4Address(good)?.value == v, "\(good)")
    }
    for bad in ["+10.77.0.5", "10.77.0.+5", "10.77.0.-0", "10.77.0.05", "10.77.0", "10.77.0.5.", ".10.77.0.5", "10.77..5",
                "10.77.0.256", "10.77.0.5 ", "1e1.0.0.1", "10.77.0.5/24", "１0.0.0.1", ""] {
      #expect(IPv4Address(bad) == nil, "'\(bad)' must be refused")
    }
  }

  @Test func prefixes() {
    #expect(IPv4Prefix("10.1.2.3/16")?.description == "10.1.0.0/16")
    #expect(IPv4Prefix.addressAndLength("10.1.2.3/16")! == (IPv4Address(10, 1, 2, 3), 16))
    for bad in ["10.1.0.0/+16", "10.1.0.0/016", "10.1.0.0/33", "10.1.0.0/", "/16", "10.1.0.0/16/1", "+10.1.0.0/16"] {
      #expect(IPv4Prefix(bad) == nil, "'\(bad)' must be refused")
    }
  }

  @Test func unicastHosts() {
    for bad in ["0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "239.1.1.1", "240.0.0.1", "255.255.255.255"] {
      #expect(IPv4Address(bad)!.isUnicastHost == false, "\(bad)")
    }
    #expect(IPv4Address("192.0.2.12")!.isUnicastHost)
  }

  /// Tunnel endpoints, chassis and SNAT nodes must be unicast; the request is refused and
  /// the state unchanged.
  @Test func nonUnicastEndpointsAreRefused() throws {
    var s = ControlState()
    s = try s.applying(try parse(#"{"version": 1, "op": "network.create", "args": {"id": "n", "tenant": "t", "vni": 5}}"#))
    for ip in ["0.0.0.0", "255.255.255.255", "224.0.0.1", "127.0.0.1"] {
      let port = #"{"version": 1, "op": "port.create", "args": {"id": "p", "network": "n", "mac": "fa:16:3e:00:00:01", "remote": "\#(ip)"}}"#
      #expect(throws: ControlError.self) { _ = try s.applying(try parse(port)) }
      let chassis = #"{"version": 1, "op": "chassis.set", "args": {"tunnel_ip": "\#(ip)", "dvr_mac": "fa:16:3f:00:00:12"}}"#
      #expect(throws: ControlError.self) { _ = try s.applying(try parse(chassis)) }
    }
  }

  /// A state that did not come through `applying` is checked with the same rules.
  @Test func inconsistentStatesAreRefusedNamingTheObject() throws {
    var s = ControlState()
    s = try s.applying(try parse(#"{"version": 1, "op": "network.create", "args": {"id": "n", "tenant": "t", "vni": 5}}"#))
    s = try s.applying(.portCreate(LogicalPort(id: "p", network: "n", mac: MACAddress("fa:16:3e:00:00:01")!,
                                               fixedIPs: [IPv4Address(10, 0, 0, 1)], location: .remote(IPv4Address(192, 0, 2, 9)),
                                               portSecurity: true)))
    #expect(try s.validated() == s)

    var orphan = s
    orphan.ports["p"]!.network = "gone"
    #expect { _ = try orphan.validated() } throws: { ($0 as? ControlError)?.message.contains("port 'p'") == true }
    var badVNI = s
    badVNI.networks["n"]!.vni = 0x1000000
    #expect { _ = try badVNI.validated() } throws: { ($0 as? ControlError)?.message.contains("network 'n'") == true }
    var wrongKey = s
    wrongKey.ports["q"] = wrongKey.ports["p"]
    wrongKey.ports["p"] = nil
    #expect(throws: ControlError.self) { _ = try wrongKey.validated() }
    var twin = s
    var p2 = s.ports["p"]!
    p2.id = "p2"
    twin.ports["p2"] = p2       // same MAC and IP in the same network
    #expect { _ = try twin.validated() } throws: { ($0 as? ControlError)?.code == "conflict" }
  }
}
