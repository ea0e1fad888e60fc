import Control
import Wire

extension ControlState {
  /// The change requests that turn this program into `next`, when they differ only in
  /// what changes most in a cloud — networks, ports, chassis and floating IPs — else nil
  /// (the agent then replaces the whole program). One `batch` of them is one atomic commit
  /// whose checks cost what the changed objects cost, not what the whole cloud costs.
  ///
  /// Order (each request valid on the state the previous ones leave): floating IPs leave
  /// ports that change or go; ports go; networks and chassis come; ports change and come;
  /// floating IPs come or move; networks and chassis go.
  public func delta(to next: ControlState) -> [ControlRequest]? {
    var a = self, b = next
    a.ports = [:]; b.ports = [:]
    a.networks = [:]; b.networks = [:]
    a.chassis = []; b.chassis = []
    a.floatingIPs = [:]; b.floatingIPs = [:]
    a.flows = [:]; b.flows = [:]
    a.generation = 0; b.generation = 0
    guard a == b else { return nil }
    // A network whose settings changed: no request changes them all (delete + create would
    // need its ports gone): replace.
    for (id, n) in next.networks where networks[id].map({ $0 != n }) == true { return nil }

    var out: [ControlRequest] = []
    let gone = Set(ports.keys.filter { next.ports[$0] == nil })
    // Ports that change in a way port.update cannot express are deleted and created again.
    var recreated = Set<String>()
    for (id, p) in next.ports {
      guard let old = ports[id], old != p else { continue }
      if old.network != p.network || old.mac != p.mac || old.tenant != p.tenant || old.node != p.node { recreated.insert(id) }
    }
    let leaving = gone.union(recreated)
    for key in floatingIPs.keys.sorted() {
      let f = floatingIPs[key]!
      if let n = next.floatingIPs[key], n == f, !(f.port.map(leaving.contains) ?? false) { continue }
      if f.port != nil { out.append(.floatingIPDisassociate(address: f.address)) }
      if next.floatingIPs[key] == nil { out.append(.floatingIPDelete(address: f.address)) }
    }
    for id in leaving.sorted() { out.append(.portDelete(id: id)) }
    for id in next.networks.keys.sorted() where networks[id] == nil { out.append(.networkCreate(next.networks[id]!)) }
    for c in next.chassis where !chassis.contains(c) { out.append(.chassisSet(c)) }
    for id in next.ports.keys.sorted() {
      let p = next.ports[id]!
      if let old = ports[id], !recreated.contains(id) {
        if old != p {
          out.append(.portUpdate(id: id, location: old.location == p.location ? nil : p.location, fixedIPs: old.fixedIPs == p.fixedIPs ? nil : p.fixedIPs,
                                 portSecurity: old.portSecurity == p.portSecurity ? nil : p.portSecurity,
                                 securityGroups: old.securityGroups == p.securityGroups ? nil : p.groups))
        }
      } else {
        out.append(.portCreate(p))
      }
    }
    for key in next.floatingIPs.keys.sorted() {
      let f = next.floatingIPs[key]!
      let old = floatingIPs[key]
      let wasKept = old == f && !(f.port.map(leaving.contains) ?? false)
      if wasKept { continue }
      if old == nil {
        out.append(.floatingIPCreate(f))
      } else if let port = f.port {
        out.append(.floatingIPAssociate(address: f.address, port: port, fixedIP: f.fixedIP))
      }
    }
    for id in networks.keys.sorted() where next.networks[id] == nil { out.append(.networkDelete(id: id)) }
    for c in chassis where !next.chassis.contains(where: { $0.tunnelIP == c.tunnelIP }) { out.append(.chassisDelete(tunnelIP: c.tunnelIP)) }
    return out
  }
}
