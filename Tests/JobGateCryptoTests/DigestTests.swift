import Testing
@testable import JobGateCrypto

struct DigestTests {
    @Test func sha256OfABCMatchesFIPSVector() {
        #expect(SHA256.hash("abc").hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash(Array("abc".utf8)).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func sha256OfEmptyInput() {
        #expect(SHA256.hash([UInt8]()).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash("").hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func sha256OfNonContiguousCollection() {
        // A lazy map has no contiguous storage, exercising the copying path.
        let bytes = Array("abc".utf8).lazy.map { $0 }
        #expect(SHA256.hash(bytes).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func incrementalHasherMatchesOneShot() {
        // FIPS 180-2 two-block vector, fed in uneven pieces.
        let message = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        let hasher = SHA256Hasher()
        hasher.update(message[0..<5])
        hasher.update([UInt8]())
        hasher.update(message[5...])
        let digest = hasher.finalize()
        #expect(digest.hexString == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(digest == SHA256.hash(message))
    }

    @Test func md5MatchesRFC1321TestSuite() {
        #expect(MD5.hash([]).hexString == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hash(Array("abc".utf8)).hexString == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hash(Array("message digest".utf8)).hexString == "f96b697d7cb7938d525a2f31aaf161d0")
        #expect(MD5.hash(Array("12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8)).hexString
                == "57edf4a22be3c955ac49da2e2107b67a")
    }

    @Test func hmacSHA256MatchesRFC4231TestCase2() {
        let mac = HMACSHA256.authenticate(key: Array("Jefe".utf8), message: "what do ya want for nothing?")
        #expect(mac.hexString == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func hmacSHA256MatchesRFC4231TestCase1() {
        let key = [UInt8](repeating: 0x0b, count: 20)
        let mac = HMACSHA256.authenticate(key: key, message: "Hi There")
        #expect(mac.hexString == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    @Test func hmacWithEmptyKeyAndMessage() {
        // Known value of HMAC-SHA256("", "").
        let mac = HMACSHA256.authenticate(key: [UInt8](), message: [UInt8]())
        #expect(mac.hexString == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test func hexRoundTrip() throws {
        let bytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]
        #expect(Hex.encode(bytes) == "00017f80feff")
        #expect(Hex.decode("00017F80feff") == bytes)
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("") == [])
    }
}
