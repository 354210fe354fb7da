import Dispatch
import Foundation

/// SIGINT/SIGTERM as an async sequence, through DispatchSource signal sources, which install
/// their own handler; the signals are not set to SIG_IGN (DESIGN.md §11).
enum Signals {
    /// Yields each SIGINT or SIGTERM received from now on. SIGPIPE is ignored process-wide.
    static func termination() -> AsyncStream<Int32> {
        signal(SIGPIPE, SIG_IGN)
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let queue = DispatchQueue(label: "jobgate.signals")
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            sources.append(source)
        }
        let keep = SourceBox(sources)
        continuation.onTermination = { _ in keep.cancel() }
        return stream
    }
}

private final class SourceBox: @unchecked Sendable {
    let sources: [any DispatchSourceSignal]
    init(_ s: [any DispatchSourceSignal]) { sources = s }
    func cancel() { sources.forEach { $0.cancel() } }
}
