import Control
import Foundation
import Testing

/// Whole documents (state files, `state.replace`, the cloud's objects) refuse fields their
/// types do not read, at any depth, by path.
struct StrictDecodingTests {
  static let state = #"""
    {"generation": 3, "networks": {"net-a": {"id": "net-a", "tenant": "t", "vni": 1001, "mtu": 1450, "learning": false,
     "learningLimit": 4096, "agingSeconds": 300}},
     "ports": {"vm9": {"id": "vm9", "network": "net-a", "mac": "fa:16:3e:00:00:09", "fixedIPs": ["10.0.0.9"],
               "location": {"remote": {"_0": "192.0.2.50"}}, "portSecurity": true}},
     "fdb": []}
    """#

  @Test func aKnownDocumentDecodes() throws {
    let s = try StrictDecoding.decode(ControlState.self, from: Data(Self.state.utf8))
    #expect(s.ports["vm9"]?.fixedIPs.map(\.description) == ["10.0.0.9"])
    #expect(s.ports["vm9"]?.groups == [])
    // An optional given as null is the optional left out.
    let withNull = Self.state.replacingOccurrences(of: #""portSecurity": true"#, with: #""portSecurity": true, "securityGroups": null"#)
    #expect(try StrictDecoding.decode(ControlState.self, from: Data(withNull.utf8)) == s)
  }

  @Test func unknownFieldsAreNamedByPath() throws {
    let cases: [(String, String, String)] = [
      (#""portSecurity": true"#, #""portSecurity": true, "securityGroup": ["web"]"#, "ports.vm9.securityGroup"),
      (#""learning": false"#, #""learning": false, "mtuu": 9000"#, "networks.net-a.mtuu"),
      (#""_0": "192.0.2.50""#, #""_0": "192.0.2.50", "via": "x""#, "ports.vm9.location.remote.via"),
      (#""generation": 3"#, #""generation": 3, "extra": {}"#, "extra"),
    ]
    for (from, to, path) in cases {
      let doc = Self.state.replacingOccurrences(of: from, with: to)
      #expect(doc != Self.state)
      do {
        _ = try StrictDecoding.decode(ControlState.self, from: Data(doc.utf8))
        Issue.record("\(path) was accepted")
      } catch let e as StrictDecoding.UnknownField {
        #expect(e.path == path)
        #expect("\(e)" == "unknown field '\(path)'")
      }
    }
  }

  @Test func listsAreComparedElementByElement() throws {
    struct Rule: Codable, Equatable { var port: Int; var note: String? }
    struct Doc: Codable, Equatable { var rules: [Rule] }
    let ok = #"{"rules": [{"port": 1}, {"port": 2, "note": "b"}]}"#
    #expect(try StrictDecoding.decode(Doc.self, from: Data(ok.utf8)) == Doc(rules: [Rule(port: 1), Rule(port: 2, note: "b")]))
    let bad = #"{"rules": [{"port": 1}, {"port": 2, "nte": "b"}]}"#
    #expect(throws: StrictDecoding.UnknownField.self) { try StrictDecoding.decode(Doc.self, from: Data(bad.utf8)) }
    do { _ = try StrictDecoding.decode(Doc.self, from: Data(bad.utf8)) } catch let e as StrictDecoding.UnknownField {
      #expect(e.path == "rules[1].nte")
    }
  }
}
