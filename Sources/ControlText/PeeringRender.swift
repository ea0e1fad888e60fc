import Control

extension Render {
  /// `route-table list`: each table with its rules and what it is associated with.
  public static func routeTables(_ rows: [RouteTableRow]) -> String {
    guard !rows.isEmpty else { return "(none)\n" }
    return rows.map { r in
      var t = TextTable("DESTINATION", "TARGET-TYPE", "TARGET", "STATUS")
      for rule in r.rules { t.add([rule.destination, rule.targetType, rule.target.isEmpty ? "-" : rule.target, rule.status.isEmpty ? "-" : rule.status]) }
      return "route-table \(r.id) (router \(r.router))\nassociated  \(r.associations.isEmpty ? "none" : r.associations.joined(separator: ", "))\n"
        + (r.rules.isEmpty ? "(no rules)\n" : t.text)
    }.joined(separator: "\n")
  }

  /// `lpg list`.
  public static func lpgs(_ rows: [LPGRow]) -> String {
    var t = TextTable("LPG", "ROUTER", "TENANT", "PEER", "PEER-ROUTER", "ACCEPTS", "ROUTE-TABLE")
    for g in rows {
      t.add([g.id, g.router, g.tenant, g.peer ?? "-", g.peerRouter ?? "-", g.acceptFrom ?? "-", g.routeTable ?? "-"])
    }
    return t.text
  }
}

extension Render {
  /// `drg show`: every attachment with its DRG route table (static and imported routes).
  public static func drgs(_ rows: [DRGAttachmentRow]) -> String {
    guard !rows.isEmpty else { return "(none)\n" }
    return rows.map { a in
      var t = TextTable("DESTINATION", "TARGET", "ORIGIN")
      for r in a.routes { t.add([r.destination, r.target, r.origin]) }
      return "attachment \(a.attachment) of \(a.drg) (gateway node \(a.gatewayNode)): \(a.kind), vni \(a.vni)"
        + (a.routeTable.map { ", VCN route table \($0)" } ?? "") + "\n" + (a.routes.isEmpty ? "(no routes)\n" : t.text)
    }.joined(separator: "\n")
  }
}
