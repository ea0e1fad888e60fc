import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A client of etcd's v3 API through its JSON gateway (`POST /v3/kv/range`, `/v3/kv/txn`,
/// `/v3/lease/*`, `/v3/watch`; keys and values base64, 64-bit integers as strings), on
/// AsyncHTTPClient. Endpoints are tried in order; the first that answers serves the call,
/// so a cluster keeps serving while one member is down.
///
/// Thread safety: every method may be called from any task; `shutdown` once, at the end.
public final class EtcdClient: Sendable {
  public let endpoints: [String]
  let http: HTTPClient

  /// `endpoints`: "http://127.0.0.1:2379,http://…" split by the caller.
  public init(endpoints: [String]) {
    self.endpoints = endpoints.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    var config = HTTPClient.Configuration()
    config.timeout.connect = .seconds(2)
    http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
  }

  public func shutdown() async { try? await http.shutdown() }

  // MARK: - the gateway's JSON

  /// etcd's int64 fields: strings on the wire (numbers accepted too).
  public struct Int64String: Codable, Sendable, Equatable {
    public var value: Int64
    public init(_ v: Int64) { value = v }
    public init(from d: Decoder) throws {
      let c = try d.singleValueContainer()
      if let s = try? c.decode(String.self), let v = Int64(s) { value = v } else { value = try c.decode(Int64.self) }
    }
    public func encode(to e: Encoder) throws {
      var c = e.singleValueContainer()
      try c.encode(String(value))
    }
  }
  struct Header: Decodable { var revision: Int64String? }
  public struct KeyValue: Decodable, Sendable, Equatable {
    public var key: Data
    public var value: Data?
    public var mod_revision: Int64String?
    public var lease: Int64String?
    public var keyString: String { String(decoding: key, as: UTF8.self) }
  }
  public struct Event: Decodable, Sendable {
    /// nil: PUT (the gateway omits the default); "DELETE".
    public var type: String?
    public var kv: KeyValue
    public var isDelete: Bool { type == "DELETE" }
  }
  struct RangeReply: Decodable { var header: Header?; var kvs: [KeyValue]? }
  struct TxnReply: Decodable { var header: Header?; var succeeded: Bool? }
  struct LeaseReply: Decodable { var ID: Int64String?; var TTL: Int64String? }
  struct KeepAliveReply: Decodable { var result: LeaseReply? }
  struct WatchMessage: Decodable {
    struct Result: Decodable {
      var header: Header?
      var created: Bool?
      var canceled: Bool?
      var compact_revision: Int64String?
      var cancel_reason: String?
      var events: [Event]?
    }
    var result: Result?
    var error: GatewayError?
  }
  struct GatewayError: Decodable, Error { var message: String?; var code: Int? }

  // Requests (etcd's protobuf messages as the gateway reads them; `Data` is base64).
  struct KeyRange: Encodable { var key: Data; var range_end: Data? = nil }
  struct PutRequest: Encodable { var key: Data; var value: Data; var lease: Int64String? = nil }
  struct Compare: Encodable {
    var key: Data
    var range_end: Data
    var target = "MOD"
    var result = "LESS"
    var mod_revision: Int64String
  }
  struct RequestOp: Encodable { var request_put: PutRequest? = nil; var request_delete_range: KeyRange? = nil }
  struct TxnRequest: Encodable { var compare: [Compare]; var success: [RequestOp] }
  struct CompactionRequest: Encodable { var revision: Int64String; var physical = true }
  struct LeaseGrantRequest: Encodable { var TTL: Int64String }
  struct LeaseIDRequest: Encodable { var ID: Int64String }
  struct WatchRequest: Encodable {
    struct Create: Encodable { var key: Data; var range_end: Data; var start_revision: Int64String }
    var create_request: Create
  }

  public struct Failure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
  }

  /// The end of the range of keys that start with `prefix` (etcd's `range_end`).
  public static func prefixEnd(_ prefix: String) -> Data {
    var b = Array(prefix.utf8)
    while let last = b.last {
      if last < 0xff { b[b.count - 1] = last + 1; return Data(b) }
      b.removeLast()
    }
    return Data([0])
  }

  /// One unary call: POST `path` with `body`, decoded as `R`, on the first endpoint that
  /// answers within `timeout`.
  func call<R: Decodable>(_ path: String, _ body: some Encodable, as: R.Type, timeout: TimeAmount = .seconds(3)) async throws -> R {
    let payload = try JSONEncoder().encode(body)
    var last: Error = Failure("no endpoint")
    for e in endpoints {
      var request = HTTPClientRequest(url: e + path)
      request.method = .POST
      request.headers.add(name: "Content-Type", value: "application/json")
      request.body = .bytes(ByteBuffer(bytes: payload))
      do {
        let response = try await http.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let data = Data(bytes.readableBytesView)
        guard response.status == .ok else {
          let message = (try? JSONDecoder().decode(GatewayError.self, from: data))?.message ?? String(decoding: data.prefix(200), as: UTF8.self)
          throw Failure("\(e)\(path): \(response.status.code) \(message)")
        }
        return try JSONDecoder().decode(R.self, from: data)
      } catch let f as Failure {
        throw f   // etcd answered: another member would say the same
      } catch {
        last = Failure("\(e): \(error)")
      }
    }
    throw last
  }

  static func bytes(_ s: String) -> Data { Data(s.utf8) }

  // MARK: - KV

  /// Every key under `prefix` and the store's revision they were read at.
  public func range(prefix: String) async throws -> (kvs: [KeyValue], revision: Int64) {
    let r = try await call("/v3/kv/range", KeyRange(key: Self.bytes(prefix), range_end: Self.prefixEnd(prefix)),
                           as: RangeReply.self, timeout: .seconds(20))
    return (r.kvs ?? [], r.header?.revision?.value ?? 0)
  }

  public func put(_ key: String, _ value: Data, lease: Int64? = nil) async throws {
    _ = try await call("/v3/kv/put", PutRequest(key: Self.bytes(key), value: value, lease: lease.map(Int64String.init)), as: RangeReply.self)
  }

  public func delete(_ key: String) async throws {
    _ = try await call("/v3/kv/deleterange", KeyRange(key: Self.bytes(key)), as: RangeReply.self)
  }

  /// One write of a transaction.
  public enum Write: Sendable, Equatable {
    case put(String, Data)
    case delete(String)
  }

  /// Applies `writes` atomically if no key under `prefix` changed after `revision` (a
  /// compare of the range's mod revision); false when one did (read again and retry).
  public func txn(unchangedUnder prefix: String, since revision: Int64, _ writes: [Write]) async throws -> Bool {
    let compare = Compare(key: Self.bytes(prefix), range_end: Self.prefixEnd(prefix), mod_revision: Int64String(revision + 1))
    let ops: [RequestOp] = writes.map {
      switch $0 {
      case .put(let k, let v): RequestOp(request_put: PutRequest(key: Self.bytes(k), value: v))
      case .delete(let k): RequestOp(request_delete_range: KeyRange(key: Self.bytes(k)))
      }
    }
    let r = try await call("/v3/kv/txn", TxnRequest(compare: [compare], success: ops), as: TxnReply.self)
    return r.succeeded ?? false
  }

  /// Compacts the history up to `revision` (tests; operators run etcd's own).
  public func compact(_ revision: Int64) async throws {
    _ = try await call("/v3/kv/compaction", CompactionRequest(revision: Int64String(revision)), as: TxnReply.self)
  }

  // MARK: - leases

  public func grantLease(ttl: Int) async throws -> Int64 {
    let r = try await call("/v3/lease/grant", LeaseGrantRequest(TTL: Int64String(Int64(ttl))), as: LeaseReply.self)
    guard let id = r.ID?.value else { throw Failure("lease grant: no ID") }
    return id
  }

  /// Renews the lease; its remaining TTL, 0 or less when it has expired.
  public func keepAlive(_ lease: Int64) async throws -> Int64 {
    let r = try await call("/v3/lease/keepalive", LeaseIDRequest(ID: Int64String(lease)), as: KeepAliveReply.self)
    return r.result?.TTL?.value ?? 0
  }

  public func revokeLease(_ lease: Int64) async throws {
    _ = try await call("/v3/lease/revoke", LeaseIDRequest(ID: Int64String(lease)), as: TxnReply.self)
  }

  // MARK: - watch

  /// What a watch delivers: events of one or more revisions, up to `revision`; or that the
  /// history from the asked revision was compacted away (relist).
  public enum WatchUpdate: Sendable {
    case events([Event], revision: Int64)
    case compacted(Int64)
  }

  /// Watches every key under `prefix` from `revision` until the stream breaks (thrown) or
  /// the caller stops iterating. Uses the first endpoint that accepts the watch.
  public func watch(prefix: String, from revision: Int64) -> AsyncThrowingStream<WatchUpdate, Error> {
    AsyncThrowingStream { continuation in
      let task = Task {
        do {
          try await self.runWatch(prefix: prefix, from: revision) { continuation.yield($0) }
          continuation.finish(throwing: Failure("watch: the stream ended"))
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
  }

  func runWatch(prefix: String, from revision: Int64, _ yield: (WatchUpdate) -> Void) async throws {
    let payload = try JSONEncoder().encode(WatchRequest(create_request: .init(key: Self.bytes(prefix), range_end: Self.prefixEnd(prefix),
                                                                               start_revision: Int64String(revision))))
    var last: Error = Failure("no endpoint")
    for e in endpoints {
      var request = HTTPClientRequest(url: e + "/v3/watch")
      request.method = .POST
      request.body = .bytes(ByteBuffer(bytes: payload))
      let response: HTTPClientResponse
      do { response = try await http.execute(request, deadline: .distantFuture) } catch {
        last = Failure("\(e): \(error)")
        continue
      }
      guard response.status == .ok else { throw Failure("\(e)/v3/watch: \(response.status.code)") }
      // The gateway streams one JSON object per line.
      var pending = Data()
      for try await chunk in response.body {
        pending.append(contentsOf: chunk.readableBytesView)
        while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
          let line = pending[pending.startIndex..<nl]
          pending = Data(pending[(nl + 1)...])
          guard !line.isEmpty else { continue }
          let m = try JSONDecoder().decode(WatchMessage.self, from: line)
          if let err = m.error { throw Failure("watch: \(err.message ?? "error")") }
          guard let r = m.result else { continue }
          if let c = r.compact_revision?.value, c > 0 { yield(.compacted(c)); return }
          if r.canceled == true { throw Failure("watch canceled: \(r.cancel_reason ?? "")") }
          if let events = r.events, !events.isEmpty { yield(.events(events, revision: r.header?.revision?.value ?? 0)) }
        }
      }
      throw Failure("\(e): the watch stream ended")
    }
    throw last
  }
}
