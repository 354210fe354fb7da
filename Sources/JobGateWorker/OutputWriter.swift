import Dispatch
import Foundation
import JobGateCore
import JobGateCrypto
import JobGateSystem

/// Turns a handler's output into what `complete` records: inline bytes up to the threshold,
/// otherwise a file in the output directory written atomically (temp file, fsync, rename,
/// fsync of the directory). Either way size, content type and SHA-256 are recorded.
public struct OutputWriter: Sendable {
    let directory: String
    let inlineMax: Int

    /// Blocking file IO runs on this queue, never on the cooperative pool.
    private static let io = DispatchQueue(label: "jobgate.outputs", attributes: .concurrent)

    struct Prepared: Sendable {
        var metadata: JobOutputMetadata
        var inline: [UInt8]?
    }

    func prepare(_ output: JobOutput, jobID: UUID, attempt: Int) async throws -> Prepared {
        if output.bytes.count <= inlineMax {
            let meta = JobOutputMetadata(size: output.bytes.count, contentType: output.contentType,
                                         sha256: SHA256.hash(output.bytes), location: .inline, path: nil)
            return Prepared(metadata: meta, inline: output.bytes)
        }
        let dir = directory
        let name = "\(jobID.lowercasedString)-\(attempt)\(Self.fileExtension(output.contentType))"
        return try await withCheckedThrowingContinuation { cont in
            Self.io.async {
                do {
                    let path = try Self.writeAtomically(output.bytes, directory: dir, name: name)
                    let meta = JobOutputMetadata(size: output.bytes.count, contentType: output.contentType,
                                                 sha256: SHA256.hash(output.bytes), location: .file, path: path)
                    cont.resume(returning: Prepared(metadata: meta, inline: nil))
                } catch {
                    cont.resume(throwing: error)
                }
            }
        }
    }

    /// Removes output files (pruned jobs, fenced-out results), ignoring missing ones, and
    /// returns once they are gone: no row names them any more (pruned rows are already deleted;
    /// a fenced-out result never was recorded), so a process that exited before the unlinks
    /// ran would leave files nothing points at.
    public static func remove(_ paths: [String]) async {
        guard !paths.isEmpty else { return }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            io.async {
                for p in paths { unlink(p) }
                done.resume()
            }
        }
    }

    static func fileExtension(_ contentType: String) -> String {
        if contentType.hasPrefix("application/json") { return ".json" }
        if contentType.hasPrefix("text/") { return ".txt" }
        return ".bin"
    }

    static func writeAtomically(_ bytes: [UInt8], directory: String, name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dirURL = URL(fileURLWithPath: directory).standardizedFileURL
        let final = dirURL.appendingPathComponent(name).path
        let temp = dirURL.appendingPathComponent(".\(name).\(UInt32.random(in: 0...UInt32.max)).tmp").path
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError("open \(temp)", errno) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(temp) }
        }
        var written = 0
        try bytes.withUnsafeBytes { buf in
            while written < buf.count {
                let n = retryingEINTR { write(fd, buf.baseAddress! + written, buf.count - written) }
                if n < 0 { throw OutputError("write \(temp)", errno) }
                written += n
            }
        }
        guard fsync(fd) == 0 else { throw OutputError("fsync \(temp)", errno) }
        guard rename(temp, final) == 0 else { throw OutputError("rename \(temp)", errno) }
        ok = true
        // Make the rename itself durable.
        let dfd = open(dirURL.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        return final
    }
}

struct OutputError: Error, CustomStringConvertible {
    let description: String
    init(_ what: String, _ code: Int32) { description = "\(what): \(String(cString: strerror(code)))" }
}

