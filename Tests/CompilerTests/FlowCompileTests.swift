import Compiler
import Control
import Pipeline
import Testing
import Wire

/// Operator flows compiled: per interface, in priority order (then id), with stable hit
/// counter numbers; a flow without in_port on every interface; a node without the interface
/// a flow names refuses it.
@Suite struct FlowCompileTests {
  func flow(_ id: String, _ priority: Int, in port: String?, _ action: OperatorFlow.Action, target: String? = nil) -> ControlRequest {
    var f = OperatorFlow(id: id, priority: priority, inPort: port, action: action, target: target)
    if action == .drop { f.source = IPv4Prefix(ip(198, 51, 100, 0), 24) }
    return .flowAdd(f)
  }

  @Test func flowsAreTriedByPriorityThenIdAndKeepTheirCounters() throws {
    var s = try ControlState(requests: cloud + [flow("z-low", 10, in: "a", .drop), flow("b-high", 200, in: "a", .mirror, target: "b"),
                                                flow("a-high", 200, in: "a", .continue), flow("all", 5, in: nil, .drop)])
    let c = try DataplaneCompiler.compile(s, node: node(s), generation: 1)
    let a = try #require(c.assignment.interfaces[.port("a")]), b = try #require(c.assignment.interfaces[.port("b")])
    #expect(c.flows[a].map(\.counter) == ["a-high", "b-high", "z-low", "all"].map { UInt16(c.assignment.flows[$0]!) })
    #expect(c.flows[a].map(\.action) == [FlowEntry.pass, FlowEntry.mirror, FlowEntry.drop, FlowEntry.drop])
    #expect(c.flows[a][1].target == UInt16(b))
    #expect(c.flows[a][2].source == ip(198, 51, 100, 0).value && c.flows[a][2].sourceMask == 0xffff_ff00 && c.flows[a][2].ip)
    // "all" is on every interface of the node: ports, underlay, uplink.
    let everywhere = c.flows.indices.filter { c.flows[$0].contains { $0.counter == UInt16(c.assignment.flows["all"]!) } }
    #expect(everywhere.count == c.interfaces.compactMap { $0 }.count)
    // Deleting one keeps the others' numbers.
    s = try s.applying(.flowDelete(id: "a-high"))
    let d = try DataplaneCompiler.compile(s, node: node(s), previous: c.assignment, generation: 2)
    for id in ["b-high", "z-low", "all"] { #expect(d.assignment.flows[id] == c.assignment.flows[id]) }
  }

  @Test func aNodeWithoutTheInterfaceRefusesTheFlow() throws {
    let s = try ControlState(requests: cloud + [flow("up", 1, in: "uplink", .drop)])
    var facts = node(s)
    facts.uplink = nil
    #expect(throws: ControlError("conflict", "flow 'up': this node has no uplink")) {
      _ = try DataplaneCompiler.compile(s, node: facts, generation: 1)
    }
    // A port that is down: the flow waits (applies nowhere), nothing is refused.
    var down = node(s)
    down.openAttachments = []
    let c = try DataplaneCompiler.compile(try ControlState(requests: cloud + [flow("m", 1, in: "a", .mirror, target: "b")]), node: down,
                                          generation: 1)
    let empty = c.flows.allSatisfy { $0.isEmpty }
    #expect(empty)
  }
}
