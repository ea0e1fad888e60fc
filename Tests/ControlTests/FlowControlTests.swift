import Control
import ControlText
import Foundation
import Testing
import Wire

/// Operator flows in the control protocol: wire form, validation with named errors, ports
/// that flows name stay, state files with flows replay, and `flow list` reads well.
@Suite struct FlowControlTests {
  static let base: [ControlRequest] = [
    .networkCreate(Network(id: "n", tenant: "t", vni: 1)),
    .portCreate(LogicalPort(id: "vm1", network: "n", mac: MACAddress("fa:16:3e:00:00:01")!, fixedIPs: [], location: .local("af-packet:t1"),
                            portSecurity: true)),
    .portCreate(LogicalPort(id: "cap", network: "n", mac: MACAddress("fa:16:3e:00:00:02")!, fixedIPs: [], location: .local("af-packet:t2"),
                            portSecurity: true)),
    .portCreate(LogicalPort(id: "far", network: "n", mac: MACAddress("fa:16:3e:00:00:03")!, fixedIPs: [],
                            location: .remote(IPv4Address(192, 0, 2, 9)), portSecurity: true)),
  ]

  func parse(_ args: String) throws -> ControlRequest {
    try ControlRequest.parse(Data(#"{"version": 1, "op": "flow.add", "args": \#(args)}"#.utf8))
  }

  @Test func flowsRoundTripAndTheirRulesAreNamed() throws {
    var full = OperatorFlow(id: "f", priority: 7, inPort: "vm1", action: .mirror, target: "cap")
    full.sourceMAC = MACAddress("fa:16:3e:00:00:01")
    full.vlan = 12
    full.source = IPv4Prefix("10.0.0.0/8")
    full.proto = 6
    full.destinationPortMin = 22
    full.destinationPortMax = 23
    for r in [ControlRequest.flowAdd(full), .flowDelete(id: "f")] {
      #expect(try ControlRequest.parse(try JSONSerialization.data(withJSONObject: r.json())) == r)
    }
    let s = try ControlState(requests: Self.base)
    func refusal(_ args: String) -> String {
      do {
        _ = try s.applying(try parse(args))
        return "accepted"
      } catch let e as ControlError { return "\(e.code): \(e.message)" } catch { return "\(error)" }
    }
    #expect(refusal(#"{"id": "f", "action": "mirror", "in_port": "vm1"}"#) == "bad-request: flow 'f': mirror needs a target")
    #expect(refusal(#"{"id": "f", "action": "drop", "target": "cap"}"#) == "bad-request: flow 'f': drop takes no target")
    #expect(refusal(#"{"id": "f", "action": "redirect", "in_port": "vm1", "target": "vm1"}"#)
      == "conflict: flow 'f': the target is the port the frames come from")
    #expect(refusal(#"{"id": "f", "action": "drop", "in_port": "nope"}"#) == "not-found: flow 'f': no port 'nope'")
    #expect(refusal(#"{"id": "f", "action": "drop", "in_port": "far"}"#) == "conflict: flow 'f': port 'far' is not on this node")
    #expect(refusal(#"{"id": "f", "action": "drop", "dst_port_min": 22}"#) == "bad-request: flow 'f': L4 ports need protocol tcp or udp")
    #expect(refusal(#"{"id": "f", "action": "drop", "proto": "tcp", "dst_port_min": 30, "dst_port_max": 22}"#)
      == "bad-request: flow 'f': dst_port_min 30 > dst_port_max 22")
    #expect(refusal(#"{"id": "f", "action": "drop", "src": "10.0.0.0/8", "ether_type": 2054}"#)
      == "bad-request: flow 'f': IPv4 fields with ether_type 0x0806")
    #expect(refusal(#"{"id": "f", "action": "jump"}"#).contains("not drop, continue, mirror or redirect"))
    #expect(refusal(#"{"id": "f", "action": "drop", "vlan": 4096}"#).contains("vlan"))

    // Ports that flows name stay; the state with flows replays through the protocol.
    let withFlow = try s.applying(.flowAdd(full))
    #expect(throws: ControlError("in-use", "port 'cap' is used by flow 'f'")) { _ = try withFlow.applying(.portDelete(id: "cap")) }
    #expect(throws: ControlError("in-use", "port 'vm1' is used by flow 'f'")) {
      _ = try withFlow.applying(.portUpdate(id: "vm1", location: .remote(IPv4Address(192, 0, 2, 9)), fixedIPs: nil, portSecurity: nil))
    }
    #expect(try withFlow.validated() == withFlow)
    let decoded = try JSONDecoder().decode(ControlState.self, from: try JSONEncoder().encode(withFlow))
    #expect(decoded == withFlow)
  }

  @Test func flowListReadsWell() throws {
    var f = OperatorFlow(id: "block", priority: 300, inPort: "uplink", action: .drop)
    f.source = IPv4Prefix("198.51.100.0/24")
    var m = OperatorFlow(id: "tap-vm1", priority: 100, inPort: "vm1", action: .mirror, target: "cap")
    m.proto = 1
    let rows = [FlowRow(id: f.id, priority: f.priority, match: f.matchText, action: f.actionText, inactive: false, packets: 12, bytes: 720),
                FlowRow(id: m.id, priority: m.priority, match: m.matchText, action: m.actionText, inactive: true, packets: 0, bytes: 0)]
    try GoldenTextTests().check("flow-list", Render.flows(rows))
  }
}
