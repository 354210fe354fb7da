import Foundation
import JobGateCrypto
import Synchronization

/// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so ids sort by
/// creation time and inserts stay at the right edge of the primary-key index.
/// Ids made by one process are strictly increasing (a counter fills the sub-millisecond part).
public enum UUIDv7 {
    private struct State {
        var ms: UInt64 = 0
        var seq: UInt16 = 0
        /// Random words drawn 64 at a time from OpenSSL's CSPRNG (a draw per id showed in
        /// profiles of batch submits).
        var random: [UInt64] = []
        mutating func nextRandom() -> UInt64 {
            if random.isEmpty {
                let bytes = SecureRandom.bytes(64 * 8)
                random = (0..<64).map { i in bytes[i * 8..<i * 8 + 8].reduce(0) { $0 << 8 | UInt64($1) } }
            }
            return random.removeLast()
        }
    }
    private static let state = Mutex(State())

    /// A new id.
    public static func make(now: Date = Date()) -> UUID {
        var ms = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let (seq, rand): (UInt16, UInt64) = state.withLock { s in
            if ms <= s.ms {
                ms = s.ms
                if s.seq >= 0x0FFF { ms += 1; s.seq = 0 } else { s.seq += 1 }
            } else {
                s.seq = UInt16(truncatingIfNeeded: s.nextRandom()) & 0x03FF  // leave headroom for the counter
            }
            s.ms = ms
            return (s.seq, s.nextRandom())
        }
        var b: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &b) { b in
            for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
            b[6] = 0x70 | UInt8(seq >> 8 & 0x0F)
            b[7] = UInt8(truncatingIfNeeded: seq)
            b[8] = 0x80 | UInt8(truncatingIfNeeded: rand >> 56) & 0x3F
            for i in 9..<16 { b[i] = UInt8(truncatingIfNeeded: rand >> (8 * UInt64(15 - i))) }
        }
        return UUID(uuid: b)
    }
}
