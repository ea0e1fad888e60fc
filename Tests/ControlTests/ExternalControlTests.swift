import Control
import Foundation
import Testing
import Wire

/// Applies request lines (`op` and `args` JSON) in order.
private func state(_ lines: [String], to start: ControlState = ControlState()) throws -> ControlState {
  var s = start
  for l in lines { s = try s.applying(try parse(#"{"version": 1, "op": "# + l + "}")) }
  return s
}

private let base = [
  #""network.create", "args": {"id": "n1", "tenant": "t", "vni": 101}"#,
  #""router.create", "args": {"id": "r1", "tenant": "t"}"#,
  #""router.interface.add", "args": {"router": "r1", "network": "n1", "address": "10.1.0.1/24", "mac": "fa:16:3e:ff:01:00"}"#,
  #""port.create", "args": {"id": "a1", "network": "n1", "mac": "fa:16:3e:01:00:0a", "fixed_ips": ["10.1.0.10"], "remote": "10.9.0.2"}"#,
  #""router.gateway.set", "args": {"router": "r1", "external_ip": "203.0.113.10/24", "upstream": "203.0.113.1", "mac": "fa:16:3e:ee:00:01", "snat_node": "10.9.0.3", "port_range": "40000-40099"}"#,
]

@Suite struct ExternalControlTests {
  @Test func gatewayAndFloatingIPAreValidatedAndAssociated() throws {
    var s = try state(base)
    #expect(s.routers["r1"]?.gateway?.portLow == 40000 && s.routers["r1"]?.gateway?.portHigh == 40099)
    s = try state([#""fip.create", "args": {"ip": "203.0.113.20", "port": "a1"}"#], to: s)
    #expect(s.floatingIPs["203.0.113.20"] == FloatingIP(address: IPv4Address(203, 0, 113, 20), port: "a1", fixedIP: IPv4Address(10, 1, 0, 10)))
    // Each refused with its reason.
    let refused: [(String, String)] = [
      (#""fip.create", "args": {"ip": "203.0.113.10"}"#, "conflict"),                                         // the external IP
      (#""fip.create", "args": {"ip": "203.0.113.20"}"#, "exists"),
      (#""fip.create", "args": {"ip": "198.51.100.5", "port": "a1"}"#, "conflict"),                            // off the external subnet
      (#""fip.create", "args": {"ip": "203.0.113.21", "port": "a1"}"#, "conflict"),                            // a1's IP already has one
      (#""fip.associate", "args": {"ip": "203.0.113.20", "port": "nope"}"#, "not-found"),
      (#""port.delete", "args": {"id": "a1"}"#, "in-use"),
      (#""router.gateway.clear", "args": {"router": "r1"}"#, "in-use"),
      (#""router.interface.remove", "args": {"router": "r1", "network": "n1"}"#, "in-use"),
      (#""port.update", "args": {"id": "a1", "fixed_ips": ["10.1.0.11"]}"#, "in-use"),
      (#""router.gateway.set", "args": {"router": "r1", "external_ip": "198.51.100.10/24", "upstream": "198.51.100.1", "mac": "fa:16:3e:ee:00:01", "snat_node": "10.9.0.3"}"#, "conflict"),
    ]
    for (line, code) in refused {
      do {
        _ = try state([line], to: s)
        Issue.record("accepted: \(line)")
      } catch let error as ControlError {
        #expect(error.code == code, "\(line): \(error)")
      } catch {
        Issue.record("\(error)")
      }
    }
    // The "in-use" refusals were for the floating IP and nothing else: once it is
    // disassociated, each of them is accepted.
    let free = try state([#""fip.disassociate", "args": {"ip": "203.0.113.20"}"#], to: s)
    for (line, code) in refused where code == "in-use" {
      do { _ = try state([line], to: free) } catch { Issue.record("still refused without the floating IP: \(line): \(error)") }
    }
    // Disassociate, then everything above that was in use may go.
    s = try state([#""fip.disassociate", "args": {"ip": "203.0.113.20"}"#, #""router.gateway.clear", "args": {"router": "r1"}"#,
                   #""fip.delete", "args": {"ip": "203.0.113.20"}"#], to: s)
    #expect(s.floatingIPs.isEmpty && s.routers["r1"]?.gateway == nil)
  }

  @Test func badGatewayArgumentsAreNamed() throws {
    for (args, field) in [
      (#""external_ip": "203.0.113.0/24", "upstream": "203.0.113.1""#, "external_ip"),    // network address
      (#""external_ip": "203.0.113.10/24", "upstream": "203.0.114.1""#, "upstream"),      // off the subnet
    ] {
      do {
        _ = try state(Array(base.prefix(3)) + [#""router.gateway.set", "args": {"router": "r1", "#
                                               + args + #", "mac": "fa:16:3e:ee:00:01", "snat_node": "10.9.0.3"}"#])
        Issue.record("accepted \(args)")
      } catch let error as ControlError {
        #expect(error.code == "bad-request" && error.message.contains(field), "\(error)")
      } catch {
        Issue.record("\(error)")
      }
    }
    #expect(throws: ControlError("bad-request", "router.gateway.set: field 'port_range': 9-2 is not a range within 1-65535")) {
      _ = try state(Array(base.prefix(3)) + [#""router.gateway.set", "args": {"router": "r1", "external_ip": "203.0.113.10/24", "upstream": "203.0.113.1", "mac": "fa:16:3e:ee:00:01", "snat_node": "10.9.0.3", "port_range": "9-2"}"#])
    }
  }

  @Test func showSessionsFiltersParseAndRoundTrip() throws {
    let r = try parse(#"{"version": 1, "op": "show.sessions", "args": {"router": "r1", "inside_ip": "10.1.0.10", "proto": "udp", "limit": 5}}"#)
    #expect(r == .showSessions(SessionFilter(router: "r1", insideIP: IPv4Address(10, 1, 0, 10), proto: "udp", limit: 5)))
    #expect(!r.isChange)
    #expect(try ControlRequest.parse(try JSONSerialization.data(withJSONObject: r.json())) == r)
    #expect(throws: ControlError.self) { try parse(#"{"version": 1, "op": "show.sessions", "args": {"proto": "gre"}}"#) }
  }

  @Test func stateFilesWithoutExternalFieldsStillLoad() throws {
    let old = #"{"generation": 3, "networks": {}, "ports": {}, "fdb": [], "routers": {"r1": {"id": "r1", "tenant": "t", "interfaces": [], "routes": []}}}"#
    let s = try JSONDecoder().decode(ControlState.self, from: Data(old.utf8))
    #expect(s.floatingIPs.isEmpty && s.routers["r1"]?.gateway == nil && s.generation == 3)
  }
}
