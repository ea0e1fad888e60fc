import Control

extension Render {
  /// `sg list`.
  public static func securityGroups(_ rows: [SecurityGroupRow]) -> String {
    var t = TextTable("GROUP", "TENANT", "NAME", "RULES", "PORTS")
    for g in rows { t.add([g.id, g.tenant, g.name, "\(g.rules.count)", g.ports.isEmpty ? "-" : Cell.list(g.ports)]) }
    return t.text
  }

  /// The rules of a group or list, with hits.
  public static func securityRules(_ rules: [SecurityRuleRow]) -> String {
    var t = TextTable("RULE", "DIRECTION", "KIND", "PROTOCOL", "PORTS", "SOURCE-PORTS", "REMOTE", "HITS")
    for r in rules { t.add([r.id, r.direction, r.kind, r.proto, r.ports, r.sourcePorts, r.remote, "\(r.hits)"]) }
    return t.text
  }

  /// `sg show G`.
  public static func securityGroup(_ g: SecurityGroupRow) -> String {
    "group    \(g.id) (tenant \(g.tenant), name \(g.name))\nports    \(g.ports.isEmpty ? "none" : g.ports.joined(separator: ", "))\n\n"
      + securityRules(g.rules)
  }

  /// `seclist list`: every list with its rules.
  public static func securityLists(_ rows: [SecurityListRow]) -> String {
    guard !rows.isEmpty else { return "(none)\n" }
    return rows.map { l in
      "list     \(l.id) (tenant \(l.tenant))\nnetworks \(l.networks.isEmpty ? "none" : l.networks.joined(separator: ", "))\n" + securityRules(l.rules)
    }.joined(separator: "\n")
  }

  /// `conntrack list`.
  public static func conntrack(_ r: ConntrackReply) -> String {
    var t = TextTable("PORT", "PROTO", "VM", "REMOTE", "OPENED", "STATE", "IDLE-S", "EXPIRES-S")
    for c in r.connections { t.add([c.port, c.proto, c.vm, c.remote, c.opened, c.state, "\(c.idleSeconds)", "\(c.expiresInSeconds)"]) }
    let more = r.matched > r.connections.count ? "(\(r.matched - r.connections.count) more; raise --limit)\n" : ""
    return t.text + more
  }

  /// `conntrack count`.
  public static func conntrackCount(_ r: ConntrackReply) -> String {
    var out = ""
    for (k, v) in [("matched", UInt64(r.matched)), ("live", r.live), ("capacity", UInt64(r.capacity)), ("created", r.created),
                   ("expired", r.expired), ("revoked", r.revoked), ("table_full", r.tableFull)] {
      out += k.padding(toLength: 12, withPad: " ", startingAt: 0) + "\(v)\n"
    }
    return out
  }

  /// `conntrack flush`.
  public static func conntrackFlushed(_ r: ConntrackReply) -> String { "flushed \(r.matched) connection\(r.matched == 1 ? "" : "s")\n" }
}
