import FuzzDriver
import Control
import Foundation
import NodeConfig

// libFuzzer target: the state-file loader. Input: the bytes of a state file. Asserts: no
// crash; a state that loads is one the control protocol could have built, and encoding it
// as `Persistence.save` does and loading it again gives the same state. (The file I/O
// around it — read(2), write, fsync, rename — is the same for every input and is left out
// to keep the executions fast.)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzState(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard let state = try? Persistence.decode(Data(bytes: data, count: size), source: "fuzz") else { return 0 }
  do {
    let again = try Persistence.decode(try Persistence.encode(state), source: "fuzz")
    guard again == state else { fatalError("a loaded state changed through save and load") }
  } catch {
    fatalError("a loaded state cannot be saved and loaded again: \(error)")
  }
  return 0
}

@_cdecl("fuzz_state_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
  runFuzzer(argc, argv, fuzzState)
}
