import Control
import Foundation
import Wire

/// The cloud's desired state as it lies in etcd, and what one node is programmed with.
///
/// Keys under a prefix (default `/gannet/`), one per object, values the object's JSON as in
/// gannetd's state file:
///
///     objects/networks/ID        Network
///     objects/ports/ID           LogicalPort: `node` the node it is bound to, `location`
///                                local(the attachment on that node); a port with no node and
///                                a remote location is a VTEP outside the cloud
///     objects/routers/ID         Router (interfaces, routes, gateway, CIDR blocks)
///     objects/security_groups/ID, objects/security_lists/ID
///     objects/floating_ips/ADDR  FloatingIP
///     objects/route_tables/ID, objects/lpgs/ID, objects/drgs/ID, objects/drg_attachments/ID
///     nodes/NAME                 NodeRecord, written by the node's agent; stays until deleted
///     alive/NAME                 the node's liveness, under the agent's lease
///
/// Chassis (every node's tunnel IP and DVR MAC) come from `nodes/`; a port is programmed
/// only while its node is alive.
public enum CloudKeys {
  public static let defaultPrefix = "/gannet/"
  public enum Kind: String, CaseIterable, Sendable {
    case networks, ports, routers, securityGroups = "security_groups", securityLists = "security_lists", floatingIPs = "floating_ips"
    case routeTables = "route_tables", lpgs, drgs, drgAttachments = "drg_attachments"
  }
}

/// A node as its agent registers it.
public struct NodeRecord: Codable, Equatable, Sendable {
  public var name: String
  public var role: String
  public var tunnelIP: IPv4Address
  public var dvrMAC: MACAddress
  public init(name: String, role: String, tunnelIP: IPv4Address, dvrMAC: MACAddress) {
    self.name = name
    self.role = role
    self.tunnelIP = tunnelIP
    self.dvrMAC = dvrMAC
  }
  enum CodingKeys: String, CodingKey { case name, role, tunnelIP = "tunnel_ip", dvrMAC = "dvr_mac" }
}

/// Everything under the prefix at one revision, read object by object: an object that
/// cannot be read (not JSON of its kind, an id that differs from its key) is left out and
/// listed in `refused` with why.
///
/// Value type; any thread.
public struct CloudSnapshot: Sendable {
  public let prefix: String
  public private(set) var state = ControlState()
  public private(set) var nodes: [String: NodeRecord] = [:]
  public private(set) var alive: Set<String> = []
  /// Key (relative to the prefix) → why it was refused.
  public private(set) var refused: [String: String] = [:]
  public var revision: Int64 = 0

  public init(prefix: String = CloudKeys.defaultPrefix) { self.prefix = prefix }

  public init(prefix: String = CloudKeys.defaultPrefix, kvs: [EtcdClient.KeyValue], revision: Int64) {
    self.prefix = prefix
    for kv in kvs { set(kv.keyString, kv.value ?? Data()) }
    self.revision = revision
  }

  /// Applies one watch event.
  public mutating func apply(_ e: EtcdClient.Event) {
    if e.isDelete { remove(e.kv.keyString) } else { set(e.kv.keyString, e.kv.value ?? Data()) }
  }

  public mutating func set(_ fullKey: String, _ value: Data) {
    guard fullKey.hasPrefix(prefix) else { return }
    let key = String(fullKey.dropFirst(prefix.count))
    remove(fullKey)
    do { try read(key, value) } catch { refused[key] = "\(error)" }
  }

  public mutating func remove(_ fullKey: String) {
    guard fullKey.hasPrefix(prefix) else { return }
    let key = String(fullKey.dropFirst(prefix.count))
    refused[key] = nil
    let parts = key.split(separator: "/", maxSplits: 2).map(String.init)
    switch (parts.first, parts.count) {
    case ("nodes", 2): nodes[parts[1]] = nil
    case ("alive", 2): alive.remove(parts[1])
    case ("objects", 3):
      let id = parts[2]
      switch CloudKeys.Kind(rawValue: parts[1]) {
      case .networks: state.networks[id] = nil
      case .ports: state.ports[id] = nil
      case .routers: state.routers[id] = nil
      case .securityGroups: state.securityGroups[id] = nil
      case .securityLists: state.securityLists[id] = nil
      case .floatingIPs: state.floatingIPs[id] = nil
      case .routeTables: state.routeTables[id] = nil
      case .lpgs: state.lpgs[id] = nil
      case .drgs: state.drgs[id] = nil
      case .drgAttachments: state.drgAttachments[id] = nil
      case nil: break
      }
    default: break
    }
  }

  struct Refusal: Error, CustomStringConvertible {
    var description: String
  }

  private mutating func read(_ key: String, _ value: Data) throws {
    let parts = key.split(separator: "/", maxSplits: 2).map(String.init)
    func decode<T: Codable>(_: T.Type) throws -> T {
      do { return try StrictDecoding.decode(T.self, from: value) } catch let e as StrictDecoding.UnknownField {
        throw Refusal(description: "a \(T.self) with an \(e)")
      } catch {
        throw Refusal(description: "not the JSON of a \(T.self): \(String(decoding: value.prefix(60), as: UTF8.self))")
      }
    }
    func same(_ id: String) throws {
      guard id == parts[2] else { throw Refusal(description: "the object's id '\(id)' differs from its key") }
    }
    switch (parts.first, parts.count) {
    case ("nodes", 2):
      let n = try decode(NodeRecord.self)
      guard n.name == parts[1] else { throw Refusal(description: "the node's name '\(n.name)' differs from its key") }
      nodes[n.name] = n
    case ("alive", 2): alive.insert(parts[1])
    case ("objects", 3):
      switch CloudKeys.Kind(rawValue: parts[1]) {
      case .networks: let o = try decode(Network.self); try same(o.id); state.networks[o.id] = o
      case .ports: let o = try decode(LogicalPort.self); try same(o.id); state.ports[o.id] = o
      case .routers: let o = try decode(Router.self); try same(o.id); state.routers[o.id] = o
      case .securityGroups: let o = try decode(SecurityGroup.self); try same(o.id); state.securityGroups[o.id] = o
      case .securityLists: let o = try decode(SecurityList.self); try same(o.id); state.securityLists[o.id] = o
      case .floatingIPs: let o = try decode(FloatingIP.self); try same(o.address.description); state.floatingIPs[o.address.description] = o
      case .routeTables: let o = try decode(RouteTable.self); try same(o.id); state.routeTables[o.id] = o
      case .lpgs: let o = try decode(LocalPeeringGateway.self); try same(o.id); state.lpgs[o.id] = o
      case .drgs: let o = try decode(DynamicRoutingGateway.self); try same(o.id); state.drgs[o.id] = o
      case .drgAttachments: let o = try decode(DRGAttachment.self); try same(o.id); state.drgAttachments[o.id] = o
      case nil: throw Refusal(description: "unknown kind '\(parts[1])'")
      }
    default: throw Refusal(description: "not a key of the cloud's layout")
    }
  }

  /// The program of node `name`: every object; chassis from the node registry; its own
  /// ports local (even while its own lease is being renewed), other alive nodes' ports remote behind their tunnel IPs; ports of nodes
  /// that are not alive (or not registered, or of no node) withdrawn, and floating IPs on
  /// them unassociated. Not validated here: gannetd checks it with the protocol's rules.
  public func program(for name: String) -> ControlState {
    var s = state
    s.generation = 0
    // In the order the protocol keeps them (by tunnel IP), so the program validates as itself.
    s.chassis = nodes.values.map { Chassis(tunnelIP: $0.tunnelIP, dvrMAC: $0.dvrMAC) }.sorted { $0.tunnelIP < $1.tunnelIP }
    var withdrawn = Set<String>()
    for (id, p) in state.ports {
      var q = p
      q.node = nil
      if let n = p.node {
        if n == name {
          // local: as written (a node never withdraws its own ports, whatever its lease says)
        } else if let r = nodes[n], alive.contains(n), n != name {
          q.location = .remote(r.tunnelIP)
        } else {
          withdrawn.insert(id)
          s.ports[id] = nil
          continue
        }
      } else if case .local = p.location {
        withdrawn.insert(id)   // bound to no node
        s.ports[id] = nil
        continue
      }
      s.ports[id] = q
    }
    for (k, f) in s.floatingIPs where f.port.map(withdrawn.contains) == true {
      s.floatingIPs[k] = FloatingIP(address: f.address)
    }
    return s
  }

  /// Each object of a cloud state under its key (relative to the prefix), as compact JSON
  /// with sorted keys.
  public static func objects(of s: ControlState) throws -> [String: Data] {
    try changes(from: ControlState(), to: s).compactMapValues { $0 }
  }

  /// The keys (relative to the prefix) whose objects differ between two cloud states: the
  /// new object's JSON, or nil where it is gone. Compares objects, encodes only the changed
  /// ones (a cloud of 100,000 ports is not encoded for one change).
  public static func changes(from a: ControlState, to b: ControlState) throws -> [String: Data?] {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var out: [String: Data?] = [:]
    func diff<T: Encodable & Equatable>(_ kind: CloudKeys.Kind, _ x: [String: T], _ y: [String: T]) throws {
      for (id, o) in y where x[id] != o { out["objects/\(kind.rawValue)/\(id)"] = .some(try enc.encode(o)) }
      for id in x.keys where y[id] == nil { out["objects/\(kind.rawValue)/\(id)"] = .some(nil) }
    }
    try diff(.networks, a.networks, b.networks)
    try diff(.ports, a.ports, b.ports)
    try diff(.routers, a.routers, b.routers)
    try diff(.securityGroups, a.securityGroups, b.securityGroups)
    try diff(.securityLists, a.securityLists, b.securityLists)
    try diff(.floatingIPs, a.floatingIPs, b.floatingIPs)
    try diff(.routeTables, a.routeTables, b.routeTables)
    try diff(.lpgs, a.lpgs, b.lpgs)
    try diff(.drgs, a.drgs, b.drgs)
    try diff(.drgAttachments, a.drgAttachments, b.drgAttachments)
    return out
  }
}
