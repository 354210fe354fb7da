import Foundation
import Synchronization

/// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits, so ids sort by
/// creation time and inserts stay at the right edge of the primary-key index.
/// Ids made by one process are strictly increasing (a counter fills the sub-millisecond part).
public enum UUIDv7 {
    private static let state = Mutex<(ms: UInt64, seq: UInt16)>((0, 0))

    /// A new id.
    public static func make(now: Date = Date()) -> UUID {
        var ms = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let seq: UInt16 = state.withLock { s in
            if ms <= s.ms {
                ms = s.ms
                if s.seq >= 0x0FFF { ms += 1; s.seq = 0 } else { s.seq += 1 }
            } else {
                s.seq = UInt16.random(in: 0..<0x0400)  // leave headroom for the counter
            }
            s.ms = ms
            return s.seq
        }
        var g = SystemRandomNumberGenerator()
        let rand = g.next() as UInt64
        var b = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
        b[6] = 0x70 | UInt8(seq >> 8 & 0x0F)
        b[7] = UInt8(truncatingIfNeeded: seq)
        b[8] = 0x80 | UInt8(truncatingIfNeeded: rand >> 56) & 0x3F
        for i in 9..<16 { b[i] = UInt8(truncatingIfNeeded: rand >> (8 * UInt64(15 - i))) }
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}
