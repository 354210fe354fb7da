import Foundation

/// Helpers for `posix_spawn` shared by everything that starts processes
/// (command jobs, initdb/pg_ctl, test children).
public enum Spawn {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), Linux's stand-in for
    /// `POSIX_SPAWN_CLOEXEC_DEFAULT`. Looked up at run time because Swift's Glibc module
    /// does not import GNU extensions.
    private static let addCloseFromFunction: CloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Whether `closeDescriptors(from:in:)` can do its work on this system.
    public static var canCloseDescriptors: Bool { addCloseFromFunction != nil }

    /// Makes the child close every descriptor from `fd` up, so it inherits nothing by
    /// accident (a pipe another part of the process holds, a server socket). Without it, a
    /// long-lived child such as a PostgreSQL server could keep a parent's pipe open for ever.
    @discardableResult
    public static func closeDescriptors(from fd: Int32, in actions: UnsafeMutablePointer<posix_spawn_file_actions_t>) -> Bool {
        guard let f = addCloseFromFunction else { return false }
        return f(actions, fd) == 0
    }
}
