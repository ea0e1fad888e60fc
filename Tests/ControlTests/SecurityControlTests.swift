import Control
import Foundation
import Testing
import Wire

/// The security object model: what is refused (with its code), the default group, and the
/// state's round trip through the protocol.
@Suite struct SecurityControlTests {
  func apply(_ lines: [String], to start: ControlState = ControlState()) throws -> ControlState {
    var s = start
    for l in lines { s = try s.applying(try ControlRequest.parse(Data((#"{"version": 1, "op": "# + l + "}").utf8))) }
    return s
  }

  let base = [
    #""network.create", "args": {"id": "n", "tenant": "t", "vni": 1}"#,
    #""sg.create", "args": {"id": "web", "tenant": "t"}"#,
    #""sg.create", "args": {"id": "other", "tenant": "u"}"#,
    #""sg.rule.add", "args": {"group": "web", "id": "ssh", "direction": "ingress", "protocol": "tcp", "port_min": 22, "port_max": 22}"#,
    #""seclist.create", "args": {"id": "l1", "tenant": "t"}"#,
  ]

  @Test func refusalsAreNamed() throws {
    let s = try apply(base)
    let refused: [(String, String)] = [
      (#""sg.rule.add", "args": {"group": "web", "id": "x", "direction": "ingress", "protocol": "icmp", "port_min": 1, "port_max": 2}"#, "bad-request"),
      (#""sg.rule.add", "args": {"group": "web", "id": "x", "direction": "ingress", "protocol": "tcp", "port_min": 90, "port_max": 80}"#, "bad-request"),
      (#""sg.rule.add", "args": {"group": "web", "id": "x", "direction": "ingress", "protocol": "tcp", "icmp_type": 8}"#, "bad-request"),
      (#""sg.rule.add", "args": {"group": "web", "id": "x", "direction": "sideways"}"#, "bad-request"),
      (#""sg.rule.add", "args": {"group": "web", "id": "x", "direction": "ingress", "remote_group": "other"}"#, "conflict"),
      (#""sg.rule.add", "args": {"group": "web", "id": "x", "direction": "ingress", "remote_group": "nope"}"#, "not-found"),
      (#""sg.rule.add", "args": {"group": "web", "id": "ssh", "direction": "ingress"}"#, "exists"),
      (#""sg.rule.add", "args": {"group": "web", "id": "x", "direction": "ingress", "remote_cidr": "10.0.0.0/8", "remote_group": "web"}"#,
       "bad-request"),
      (#""sg.rule.add", "args": {"group": "web", "id": "x", "direction": "ingress", "protocol": "tcp", "source_port_min": 1, "source_port_max": 2}"#,
       "bad-request"),
      (#""port.create", "args": {"id": "p", "network": "n", "mac": "fa:16:3e:00:00:01", "remote": "192.0.2.2", "security_groups": ["other"]}"#,
       "conflict"),
      (#""port.create", "args": {"id": "p", "network": "n", "mac": "fa:16:3e:00:00:01", "remote": "192.0.2.2", "port_security": false, "security_groups": ["web"]}"#,
       "conflict"),
      (#""network.update", "args": {"id": "n", "security_lists": ["l1", "l1"]}"#, "bad-request"),
      (#""network.update", "args": {"id": "n", "security_lists": ["nope"]}"#, "not-found"),
      (#""seclist.rule.add", "args": {"list": "l1", "id": "x", "direction": "ingress", "cidr": "10.0.0.0/33"}"#, "bad-request"),
    ]
    for (line, code) in refused {
      do {
        _ = try apply([line], to: s)
        Issue.record("accepted: \(line)")
      } catch let e as ControlError {
        #expect(e.code == code, "\(line): \(e)")
      }
    }
    // At most five lists per network.
    var t = s
    for i in 2...6 { t = try apply([#""seclist.create", "args": {"id": "l\#(i)", "tenant": "t"}"#], to: t) }
    #expect(throws: ControlError.self) { try apply([#""network.update", "args": {"id": "n", "security_lists": ["l1", "l2", "l3", "l4", "l5", "l6"]}"#], to: t) }
    _ = try apply([#""network.update", "args": {"id": "n", "security_lists": ["l1", "l2", "l3", "l4", "l5"]}"#], to: t)
  }

  @Test func inUseObjectsStayAndTheDefaultGroupIsGiven() throws {
    var s = try apply(base + [
      #""sg.create", "args": {"id": "def-t", "tenant": "t", "name": "default"}"#,
      #""port.create", "args": {"id": "a", "network": "n", "mac": "fa:16:3e:00:00:01", "remote": "192.0.2.2"}"#,
      #""port.create", "args": {"id": "b", "network": "n", "mac": "fa:16:3e:00:00:02", "remote": "192.0.2.2", "security_groups": []}"#,
      #""port.create", "args": {"id": "c", "network": "n", "mac": "fa:16:3e:00:00:03", "remote": "192.0.2.2", "security_groups": ["web"]}"#,
      #""network.update", "args": {"id": "n", "security_lists": ["l1"]}"#,
    ])
    #expect(s.ports["a"]?.groups == ["def-t"] && s.ports["b"]?.groups == [] && s.ports["c"]?.groups == ["web"])
    #expect(throws: ControlError("in-use", "security group 'web' is used by ports: c")) { try apply([#""sg.delete", "args": {"id": "web"}"#], to: s) }
    #expect(throws: ControlError("in-use", "security list 'l1' is used by networks: n")) { try apply([#""seclist.delete", "args": {"id": "l1"}"#], to: s) }
    #expect(throws: ControlError.self) { try apply([#""sg.create", "args": {"id": "def-2", "tenant": "t", "name": "default"}"#], to: s) }
    // A group named as a remote group stays too.
    s = try apply([#""sg.create", "args": {"id": "app", "tenant": "t"}"#,
                   #""sg.rule.add", "args": {"group": "web", "id": "from-app", "direction": "ingress", "remote_group": "app"}"#], to: s)
    #expect(throws: ControlError.self) { try apply([#""sg.delete", "args": {"id": "app"}"#], to: s) }
    // The whole state survives its own replay through the protocol (as a state file is checked).
    #expect(try s.validated() == s)
    let data = try JSONEncoder().encode(s)
    #expect(try JSONDecoder().decode(ControlState.self, from: data) == s)
  }
}
