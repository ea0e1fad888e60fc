import Control
import Wire

/// Numbers a set of keys with small integers that stay the same for as long as the key
/// exists, whatever else comes and goes: a network keeps its bridge domain, a router its
/// VRF, a remote VTEP its tunnel, a port its interface, a route its FIB entry. A freed
/// index is given to the next new key (lowest free first), and `since` records the
/// generation at which that happened, so an event that names an index can be checked
/// against the numbering it was made with (`current(_:at:)`).
///
/// Pure value; the compiler threads it from one compile to the next.
public struct StableIndices<Key: Hashable & Comparable & Sendable>: Equatable, Sendable {
  public private(set) var index: [Key: Int] = [:]
  /// Generation at which each index was last given to its current key.
  public private(set) var since: [Int: UInt64] = [:]
  /// The lowest index handed out (bridge domain 0 means "no network", so domains start at 1).
  public let first: Int

  public init(first: Int = 0) { self.first = first }

  public subscript(_ key: Key) -> Int? { index[key] }

  /// Key by index.
  public var keys: [Int: Key] { Dictionary(uniqueKeysWithValues: index.map { ($0.value, $0.key) }) }

  /// One past the highest index in use (`first` when empty): the size of an array indexed by it.
  public var end: Int { (index.values.max() ?? (first - 1)) + 1 }

  public var count: Int { index.count }

  /// Is `i` still the index of the key it had at `generation` (not freed and re-given since)?
  public func current(_ i: Int, at generation: UInt64) -> Bool {
    guard let s = since[i] else { return false }
    return s <= generation
  }

  /// Keeps the indices of keys in `wanted`, frees the others, and gives each new key the
  /// lowest free index (in key order, so a compile is deterministic). Refuses more than
  /// `limit` keys with a `conflict` error naming `what`.
  public mutating func assign(_ wanted: Set<Key>, generation: UInt64, limit: Int, what: String) throws(ControlError) {
    guard wanted.count <= limit else { throw ControlError("conflict", "more than \(limit) \(what)") }
    index = index.filter { wanted.contains($0.key) }
    var used = Set(index.values)
    since = since.filter { used.contains($0.key) }   // a set: `index.values.contains` made this quadratic
    var next = first
    for key in wanted.filter({ index[$0] == nil }).sorted() {   // only the new keys: sorting all of them dominated a compile of 100,000 routes
      while used.contains(next) { next += 1 }
      index[key] = next
      since[next] = generation
      used.insert(next)
    }
  }
}

/// What an interface index of the snapshot stands for.
public enum InterfaceKey: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The VXLAN underlay (this node's VTEP).
  case underlay
  /// The external network.
  case uplink
  /// A local VM port, by port id.
  case port(String)

  public var description: String {
    switch self {
    case .underlay: "underlay"
    case .uplink: "uplink"
    case .port(let id): "port \(id)"
    }
  }

  /// The key an operator names in a command (a port id, `underlay` or `uplink`).
  public init(operatorName name: String) {
    self = name == "underlay" ? .underlay : name == "uplink" ? .uplink : .port(name)
  }

  /// How commands and traces name it: the port id, `underlay` or `uplink`.
  public var operatorName: String {
    switch self {
    case .underlay: "underlay"
    case .uplink: "uplink"
    case .port(let id): id
    }
  }
}

/// Every stable numbering of one compile; the next compile starts from it.
public struct IndexAssignment: Equatable, Sendable {
  /// Bridge domain by network id (from 1).
  public var domains = StableIndices<String>(first: 1)
  /// VRF by router id.
  public var vrfs = StableIndices<String>()
  /// Tunnel by remote VTEP.
  public var tunnels = StableIndices<IPv4Address>()
  /// Snapshot interface (worker port index).
  public var interfaces = StableIndices<InterfaceKey>()
  /// Router interface by "router network".
  public var routerInterfaces = StableIndices<String>()
  /// FIB entry by "router prefix" ("router 0.0.0.0/0 external" for the external route).
  public var fib = StableIndices<String>()
  /// Security rule number by "sg GROUP RULE" / "seclist LIST RULE" (hit counters).
  public var rules = StableIndices<String>()
  /// Operator flow number by flow id (hit counters).
  public var flows = StableIndices<String>()
  /// Connection-tracking zone of each filtered port (from 1).
  public var zones = StableIndices<String>(first: 1)
  public init() {}

  /// The interface of each zone's port, and the zones given out at `generation` (another
  /// port's connections may still carry them): what revalidating the connection table needs.
  public func zoneInterfaces(at generation: UInt64) -> (interfaceOfZone: [Int: Int], fresh: Set<Int>) {
    var out: [Int: Int] = [:]
    for (id, zone) in zones.index { if let i = interfaces[.port(id)] { out[zone] = i } }
    return (out, Set(zones.since.filter { $0.value == generation }.map(\.key)))
  }
}
