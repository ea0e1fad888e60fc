import Control
import Foundation
import Testing
import Wire

func parse(_ s: String) throws(ControlError) -> ControlRequest { try ControlRequest.parse(Data(s.utf8)) }

@Suite struct RequestParsingTests {
  @Test func networkCreateDefaults() throws {
    let r = try parse(#"{"version": 1, "op": "network.create", "args": {"id": "n", "tenant": "t", "vni": 1001}}"#)
    guard case .networkCreate(let n) = r else { Issue.record("wrong request \(r)"); return }
    #expect(n.vni == 1001)
    #expect(n.mtu == nil)              // each node: its underlay_mtu − 50 (VXLAN over IPv4)
    #expect(!n.learning)
  }

  @Test func booleansAndNumbersAreNotInterchangeable() {
    #expect(throws: ControlError.self) {
      try parse(#"{"version": 1, "op": "network.create", "args": {"id": "n", "tenant": "t", "vni": true}}"#)
    }
    #expect(throws: ControlError.self) {
      try parse(#"{"version": 1, "op": "network.create", "args": {"id": "n", "tenant": "t", "vni": 1, "learning": 0}}"#)
    }
    #expect(throws: ControlError.self) {
      try parse(#"{"version": 1, "op": "network.create", "args": {"id": "n", "tenant": "t", "vni": 1.5}}"#)
    }
  }

  @Test func requestsRoundTripThroughTheirWireForm() throws {
    let reqs: [ControlRequest] = [
      .portCreate(LogicalPort(id: "p", network: "n", mac: MACAddress("fa:16:3e:00:00:01")!, fixedIPs: [IPv4Address(10, 0, 0, 1)],
                              location: .local("af-packet:tap0"), portSecurity: false)),
      .portUpdate(id: "p", location: .remote(IPv4Address(192, 0, 2, 7)), fixedIPs: nil, portSecurity: nil),
      .fdbAdd(FDBEntry(network: "n", mac: MACAddress("fa:16:3e:00:00:09")!, port: "p")),
      .show(.drops),
    ]
    for r in reqs {
      let data = try JSONSerialization.data(withJSONObject: r.json())
      #expect(try ControlRequest.parse(data) == r)
    }
  }

  @Test func applyIsAllOrNothing() throws {
    var s = ControlState()
    s = try s.applying(try parse(#"{"version": 1, "op": "network.create", "args": {"id": "n", "tenant": "t", "vni": 1}}"#))
    #expect(s.generation == 1)
    let bad = try parse(#"""
      {"version": 1, "op": "batch", "args": {"requests": [
        {"op": "port.create", "args": {"id": "p1", "network": "n", "mac": "fa:16:3e:00:00:01", "remote": "192.0.2.2"}},
        {"op": "port.create", "args": {"id": "p2", "network": "n", "mac": "fa:16:3e:00:00:01", "remote": "192.0.2.3"}}]}}
      """#)
    #expect(throws: ControlError("conflict", "batch.requests[1]: MAC fa:16:3e:00:00:01 is already used by port 'p1' in network 'n'")) {
      _ = try s.applying(bad)
    }
    // The batch was refused for p2 alone, as a whole: its first request is valid by itself.
    let first = try parse(#"{"version": 1, "op": "port.create", "args": {"id": "p1", "network": "n", "mac": "fa:16:3e:00:00:01", "remote": "192.0.2.2"}}"#)
    #expect(try s.applying(first).ports.keys.sorted() == ["p1"])
  }

  @Test func deletingAPortRemovesItsStaticEntries() throws {
    var s = ControlState()
    for line in [
      #"{"version": 1, "op": "network.create", "args": {"id": "n", "tenant": "t", "vni": 1}}"#,
      #"{"version": 1, "op": "port.create", "args": {"id": "r", "network": "n", "mac": "fa:16:3e:00:00:01", "remote": "192.0.2.2"}}"#,
      #"{"version": 1, "op": "fdb.add", "args": {"network": "n", "mac": "fa:16:3e:00:00:77", "port": "r"}}"#,
    ] { s = try s.applying(try parse(line)) }
    #expect(s.fdb.count == 1)
    s = try s.applying(try parse(#"{"version": 1, "op": "port.delete", "args": {"id": "r"}}"#))
    #expect(s.fdb.isEmpty)
  }
}
