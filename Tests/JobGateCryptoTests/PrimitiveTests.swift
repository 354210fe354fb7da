import Testing
@testable import JobGateCrypto

struct ConstantTimeTests {
    @Test func equalBytesCompareEqual() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals("sig-abc", "sig-abc"))
    }

    @Test func differentBytesCompareUnequal() {
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([0, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals("sig-abc", "sig-abd"))
    }

    @Test func lengthMismatchIsUnequal() {
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([1, 2], [1, 2, 3]))
        #expect(!ConstantTime.equals([UInt8](), [0]))
    }
}

struct SecureRandomTests {
    @Test(arguments: [0, 1, 16, 32, 1000])
    func bytesHaveRequestedLength(count: Int) {
        #expect(SecureRandom.bytes(count).count == count)
    }

    @Test func twoDrawsDiffer() {
        // 2^-256 chance of a false failure.
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }

    @Test func tokenIsURLSafeAndUnpadded() throws {
        let token = SecureRandom.token(bytes: 32)
        #expect(token.count == 43)
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        let decoded = try #require(Base64URL.decode(token))
        #expect(decoded.count == 32)
        #expect(SecureRandom.token() != SecureRandom.token())
    }
}

struct Base64URLTests {
    @Test func roundTripsAll256ByteValues() throws {
        let bytes = (0...255).map { UInt8($0) }
        let encoded = Base64URL.encode(bytes)
        #expect(!encoded.contains("="))
        #expect(!encoded.contains("+"))
        #expect(!encoded.contains("/"))
        #expect(try #require(Base64URL.decode(encoded)) == bytes)
    }

    @Test(arguments: 0...10)
    func roundTripsLength(length: Int) throws {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 251) }
        let encoded = Base64URL.encode(bytes)
        #expect(encoded.count == (length * 4 + 2) / 3)
        #expect(try #require(Base64URL.decode(encoded)) == bytes)
    }

    @Test func matchesRFC4648Vectors() {
        // RFC 4648 §10 vectors, padding removed.
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(plain) == encoded)
            #expect(Base64URL.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
    }

    @Test func toleratesCorrectPadding() {
        #expect(Base64URL.decode("Zg==") == Array("f".utf8))
        #expect(Base64URL.decode("Zm8=") == Array("fo".utf8))
    }

    @Test func rejectsInvalidInput() {
        #expect(Base64URL.decode("Zm9v+g") == nil)  // standard-alphabet '+'
        #expect(Base64URL.decode("Zm9v/g") == nil)
        #expect(Base64URL.decode("Zm 9v") == nil)
        #expect(Base64URL.decode("Z") == nil)      // impossible length
        #expect(Base64URL.decode("Zh") == nil)     // non-zero unused bits
        #expect(Base64URL.decode("Zg=") == nil)    // wrong padding
        #expect(Base64URL.decode("Zé") == nil)
    }
}
