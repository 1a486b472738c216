import Foundation
import HostKit
import Passthrough
import SystemPackage
import TestSupport
import Testing

/// The atomic writer keeps the errno of the call that failed (not one a later cleanup call
/// left) and leaves no temporary file behind.
@Suite struct AtomicFileTests {
    @Test func aRenameOntoADirectoryKeepsEISDIRAndThePath() throws {
        let dir = TestSupport.tempDir("atomic-errno")
        let target = dir + "/state.json"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let error = #expect(throws: VGPUError.self) { try AtomicFile.write(Data("{}".utf8), to: target) }
        #expect(error?.message.contains(target) == true)
        #expect(error?.systemCall == SystemCallError("rename", errno: .isDirectory, path: target))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["state.json"])
    }

    @Test func aWriteReplacesTheFile() throws {
        let target = TestSupport.tempDir("atomic-ok") + "/state.json"
        try AtomicFile.write(Data("old".utf8), to: target)
        try AtomicFile.write(Data("new".utf8), to: target)
        #expect(FileManager.default.contents(atPath: target) == Data("new".utf8))
    }
}
