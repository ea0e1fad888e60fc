import Control
import Pipeline
import Tables
import Wire

/// Which local ports security groups and lists filter, and the tables that filter them.
extension DataplaneCompiler {
  /// The port ids this node filters: local, open, port security on, and in a group or on a
  /// network with lists. (A port without port security is never filtered; one with neither
  /// groups nor lists is not filtered, as before security groups existed.)
  static func filteredPorts(_ s: ControlState, _ out: CompiledDataplane) -> [String] {
    s.ports.values.filter { p in
      guard p.portSecurity, out.index(of: .port(p.id)) != nil else { return false }
      return !p.groups.isEmpty || !(s.networks[p.network]?.securityLists.isEmpty ?? true)
    }.map(\.id).sorted()
  }

  /// Numbers every rule (stable, for hit counters), gives every filtered port a zone, and
  /// compiles one policy per distinct (groups, lists) of the filtered ports.
  static func compileSecurity(_ s: ControlState, into out: inout CompiledDataplane) throws(ControlError) {
    var ruleKeys = Set<String>()
    for g in s.securityGroups.values { for r in g.rules { ruleKeys.insert("sg \(g.id) \(r.id)") } }
    for l in s.securityLists.values { for r in l.rules { ruleKeys.insert("seclist \(l.id) \(r.id)") } }
    try out.assignment.rules.assign(ruleKeys, generation: out.generation, limit: ACLConfig.maxRules - 1, what: "security rules")
    let filtered = filteredPorts(s, out)
    try out.assignment.zones.assign(Set(filtered), generation: out.generation, limit: 0x7fff, what: "filtered ports")

    var acl = ACLConfig()
    var policyOf: [String: Int] = [:]
    for id in filtered {
      let p = s.ports[id]!
      let lists = s.networks[p.network]?.securityLists ?? []
      let key = p.groups.sorted().joined(separator: ",") + "|" + lists.joined(separator: ",")
      let policy: Int
      if let known = policyOf[key] {
        policy = known
      } else {
        policy = acl.policies.count
        policyOf[key] = policy
        acl.policies.append(compilePolicy(s, groups: p.groups.sorted(), lists: lists, rules: out.assignment.rules, arena: &acl.arena))
      }
      let i = out.index(of: .port(id))!
      acl.interfacePolicy[i] = (policy, UInt16(out.assignment.zones[id]!))
      out.interfaces[i]?.info.filtered = true
      out.policyKeys[id] = key
    }
    out.acl = acl
  }

  /// The classifier rules of one L4 match: (protocol class, key range) per class it covers.
  static func keyRanges(_ m: L4Match) -> [(Int, UInt32, UInt32)] {
    switch m.proto {
    case nil:
      return [(ACLFilter.tcpClass, 0, 65535), (ACLFilter.udpClass, 0, 65535), (ACLFilter.icmpClass, 0, 0xffff), (ACLFilter.otherClass, 0, 255)]
    case 6?, 17?:
      return [(m.proto == 6 ? ACLFilter.tcpClass : ACLFilter.udpClass, UInt32(m.portMin ?? 0), UInt32(m.portMax ?? 65535))]
    case 1?:
      guard let t = m.icmpType else { return [(ACLFilter.icmpClass, 0, 0xffff)] }
      if let c = m.icmpCode { return [(ACLFilter.icmpClass, UInt32(t) << 8 | UInt32(c), UInt32(t) << 8 | UInt32(c))] }
      return [(ACLFilter.icmpClass, UInt32(t) << 8, UInt32(t) << 8 | 0xff)]
    case let n?:
      return [(ACLFilter.otherClass, UInt32(n), UInt32(n))]
    }
  }

  static func range(_ p: IPv4Prefix) -> (UInt32, UInt32) {
    (p.address.value, p.address.value | ~IPv4Prefix.mask(p.length))
  }

  /// The 16 tables (direction × stateless × class) of one port's groups and lists.
  static func compilePolicy(_ s: ControlState, groups: [String], lists: [String], rules: StableIndices<String>,
                            arena: inout [UInt32]) -> ACLConfig.Policy {
    var byTable = [[ACLClassifier.Rule]](repeating: [], count: ACLTables.stride)
    var policy = ACLConfig.Policy()
    func add(direction: TrafficDirection, stateless: Bool, remotes: [(UInt32, UInt32)], match: L4Match, number: Int) {
      let d = direction == .ingress ? 0 : 1
      for (cls, lo, hi) in keyRanges(match) {
        for (a, b) in remotes {
          let rule = ACLClassifier.Rule(addressLow: a, addressHigh: b, keyLow: lo, keyHigh: hi, rule: UInt32(number))
          if let sl = match.sourcePortMin, let sh = match.sourcePortMax {
            policy.sourcePortRules.append(.init(direction: d, stateless: stateless, protoClass: cls, rule: rule, sourceLow: UInt16(sl),
                                                sourceHigh: UInt16(sh)))
          } else {
            byTable[d * 8 + (stateless ? 4 : 0) + cls].append(rule)
          }
        }
      }
    }
    for gid in groups {
      guard let g = s.securityGroups[gid] else { continue }
      for r in g.rules {
        let remotes: [(UInt32, UInt32)]
        if let c = r.remoteCIDR {
          remotes = [range(c)]
        } else if let rg = r.remoteGroup {
          remotes = s.members(ofGroup: rg).map { ($0.value, $0.value) }
        } else {
          remotes = [(0, UInt32.max)]
        }
        add(direction: r.direction, stateless: false, remotes: remotes, match: r.match, number: rules["sg \(gid) \(r.id)"]!)
      }
    }
    for lid in lists {
      guard let l = s.securityLists[lid] else { continue }
      for r in l.rules {
        add(direction: r.direction, stateless: r.stateless, remotes: [range(r.cidr)], match: r.match, number: rules["seclist \(lid) \(r.id)"]!)
      }
    }
    for k in 0..<ACLTables.stride { policy.tables[k] = ACLClassifier.build(byTable[k], into: &arena) }
    return policy
  }
}
