import Control
import Pipeline
import Wire

extension DataplaneCompiler {
  /// Operator flows → per-interface `FlowEntry` lists, highest priority first (then id). A
  /// flow without `in_port` applies to every interface of the node; one whose port is down
  /// applies to nothing until it is up. A target or in_port that the node does not have
  /// (`underlay` or `uplink` not configured) is a `conflict`.
  static func compileFlows(_ s: ControlState, into out: inout CompiledDataplane, generation: UInt64) throws(ControlError) {
    try out.assignment.flows.assign(Set(s.flows.keys), generation: generation, limit: FlowTables.maxFlows, what: "flows")
    guard !s.flows.isEmpty else { return }
    var per = [[FlowEntry]](repeating: [], count: out.interfaces.count)
    func key(_ name: String) -> InterfaceKey { InterfaceKey(operatorName: name) }
    func system(_ name: String, _ flow: String) throws(ControlError) {
      if (name == "underlay" || name == "uplink") && out.assignment.interfaces[key(name)] == nil {
        throw ControlError("conflict", "flow '\(flow)': this node has no \(name)")
      }
    }
    for f in s.flows.values.sorted(by: { ($0.priority, $1.id) > ($1.priority, $0.id) }) {
      var e = FlowEntry()
      if let m = f.sourceMAC { e.sourceMAC = m.rawValue; e.sourceMACMask = 0xffff_ffff_ffff }
      if let m = f.destinationMAC { e.destinationMAC = m.rawValue; e.destinationMACMask = 0xffff_ffff_ffff }
      e.etherType = UInt16(f.etherType ?? 0)
      if let v = f.vlan { e.vlan = UInt16(v) }
      if let p = f.source { e.source = p.address.value; e.sourceMask = IPv4Prefix.mask(p.length); e.ip = true }
      if let p = f.destination { e.destination = p.address.value; e.destinationMask = IPv4Prefix.mask(p.length); e.ip = true }
      if let p = f.proto { e.proto = UInt16(p); e.ip = true }
      if let lo = f.sourcePortMin { e.sourcePortLow = UInt16(lo); e.sourcePortHigh = UInt16(f.sourcePortMax ?? lo); e.l4 = true }
      if let lo = f.destinationPortMin {
        e.destinationPortLow = UInt16(lo)
        e.destinationPortHigh = UInt16(f.destinationPortMax ?? lo)
        e.l4 = true
      }
      e.counter = UInt16(out.assignment.flows[f.id]!)
      switch f.action {
      case .drop: e.action = FlowEntry.drop
      case .continue: e.action = FlowEntry.pass
      case .mirror: e.action = FlowEntry.mirror
      case .redirect: e.action = FlowEntry.redirect
      }
      if let t = f.target {
        try system(t, f.id)
        guard let i = out.index(of: key(t)) else { continue }      // the target is down: the flow waits for it
        e.target = UInt16(i)
      }
      if let p = f.inPort {
        try system(p, f.id)
        if let i = out.index(of: key(p)) { per[i].append(e) }
      } else {
        for i in out.interfaces.indices where out.interfaces[i] != nil { per[i].append(e) }
      }
    }
    out.flows = per
  }
}
