import FuzzDriver
import Control
import Foundation
import Wire

// libFuzzer target: the control protocol. Input: request lines (one JSON object per line),
// applied in order to one state as gannetd applies them (parse → validate → apply).
// Asserts: no crash; the state the requests produced passes the state-file check
// (`validated`: the same rules, replayed from scratch), so what the daemon accepts it
// will also load, and survives a save and load (JSON encode → decode → `validated`)
// unchanged. (A refused request cannot change the state: `applying` returns
// a new value or throws, so there is nothing to assert about it here; the daemon test
// `malformedRequestsChangeNothing` covers the socket path.)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControl(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = UnsafeBufferPointer(start: data, count: size)
  var state = ControlState()
  for line in bytes.split(separator: 0x0a, maxSplits: 64) {
    let request: ControlRequest
    do { request = try ControlRequest.parse(Data(line)) } catch { continue }
    guard request.isChange, let next = try? state.applying(request) else { continue }
    state = next
  }
  let saved: Data
  do { saved = try JSONEncoder().encode(state) } catch { fatalError("an accepted state cannot be encoded: \(error)") }
  do {
    let loaded = try JSONDecoder().decode(ControlState.self, from: saved).validated()
    if loaded != state { fatalError("an accepted state changed through save and load") }
  } catch {
    fatalError("an accepted state is refused when loaded: \(error)\n\(String(decoding: saved, as: UTF8.self))")
  }
  return 0
}
@_cdecl("fuzz_control_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
  runFuzzer(argc, argv, fuzzControl)
}
