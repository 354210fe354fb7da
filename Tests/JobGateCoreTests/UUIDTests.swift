import Foundation
import JobGateCore
import JobGatePostgres
import JobGateSystem
import Testing

@Suite struct UUIDTests {
    @Test func v7IdsAreVersion7IncreasingAndUnique() {
        let ids = (0..<5000).map { _ in UUIDv7.make() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.uuid.6 >> 4 == 7, "version")
            #expect(id.uuid.8 >> 6 == 0b10, "variant")
        }
        let texts = ids.map(\.lowercasedString)
        #expect(texts == texts.sorted(), "ids made by one process sort by creation")
        // The random tail differs between neighbours (not a counter).
        let tails = Set(ids.map { withUnsafeBytes(of: $0.uuid) { Array($0[9..<16]) } })
        #expect(tails.count == ids.count)
    }

    @Test func textFormAndParsingAgreeWithFoundation() {
        for _ in 0..<200 {
            let id = UUID()
            #expect(id.lowercasedString == id.uuidString.lowercased())
            #expect(UUIDText.parse(id.uuidString) == id)
            #expect(UUIDText.parse(id.lowercasedString) == id)
        }
        for bad in ["", "not-a-uuid", "0190b1a2-0000-7000-8000-00000000000", "0190b1a2-0000-7000-8000-0000000000001",
                    "0190b1a2x0000-7000-8000-000000000000", "0190b1a2-0000-7000-8000-00000000000g", "{0190b1a2-0000-7000-8000-000000000000}"] {
            #expect(UUIDText.parse(bad) == nil, "\(bad)")
            #expect(UUID(uuidString: bad) == nil, "Foundation agrees on \(bad)")
        }
    }
}
