import Foundation

/// An `errno` value, printed as `strerror` says it.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    /// The number.
    public var code: Int32

    /// The error `code`.
    public init(_ code: Int32) { self.code = code }

    /// The calling thread's `errno` now.
    public static var current: Errno { Errno(errno) }

    public var description: String { String(cString: strerror(code)) }
}

/// Calls a syscall again while it fails with EINTR (interrupted by a signal before it did
/// anything). The one EINTR loop of the code base; not for `close`, see `closeDescriptor`.
@inline(__always)
public func retryingEINTR<T: FixedWidthInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// Closes `fd`. Deliberately not retried on EINTR: on Linux the descriptor is gone even then,
/// and a retry could close one another thread just opened under the same number.
public func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}
