import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libmicrohttpd pointer that crosses threads. libmicrohttpd owns the object;
/// we only hand the pointer back to it under the rules of its API.
struct MHDPointer: @unchecked Sendable {
    let raw: OpaquePointer
}

/// The state of one request, from the moment libmicrohttpd sees its URI until
/// it reports the request completed. Its address is libmicrohttpd's `con_cls`.
///
/// The access handler touches it on a libmicrohttpd thread; the handler's task
/// and `shutdown` touch it from elsewhere, so everything mutable is behind a lock.
final class RequestContext: Sendable {
    enum Phase {
        /// Waiting for the first access-handler call (headers parsed).
        case new
        /// Reading the body.
        case receiving
        /// The body went over the cap; the rest is discarded until 413 can be sent.
        case rejected(discarded: Int)
        /// Suspended while the handler runs.
        case handling
        /// The handler answered (or shutdown did); the next call queues this.
        case ready(HTTPResponse)
        /// A response was queued.
        case responded
    }

    struct State {
        var phase: Phase = .new
        var headers = HTTPHeaders()
        var body: [UInt8] = []
        /// The connection while it is suspended; cleared by whoever resumes it,
        /// so it is resumed exactly once.
        var suspendedConnection: MHDPointer?
        var requestID: String = ""
    }

    /// The request target as sent (`/path?query`), before any decoding.
    let rawTarget: String
    /// How many bytes of the target libmicrohttpd handed over (its C string stops
    /// at a NUL); the access handler compares it with the request line.
    let rawTargetByteCount: Int
    /// The client's numeric address.
    let remoteAddress: String
    let state = Mutex(State())

    init(rawTarget: UnsafePointer<CChar>?, remoteAddress: String) {
        self.rawTarget = rawTarget.map { String(cString: $0) } ?? "/"
        self.rawTargetByteCount = rawTarget.map { strlen($0) } ?? 1
        self.remoteAddress = remoteAddress
    }

    var key: ObjectIdentifier { ObjectIdentifier(self) }
}
