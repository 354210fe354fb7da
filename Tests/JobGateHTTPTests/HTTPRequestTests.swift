import Testing
@testable import JobGateHTTP

@Suite struct HTTPRequestTests {
    @Test func percentDecoding() {
        #expect(HTTPRequest.percentDecode(Array("a%20b+c".utf8), plusAsSpace: false) == "a b+c")
        #expect(HTTPRequest.percentDecode(Array("a%20b+c".utf8), plusAsSpace: true) == "a b c")
        #expect(HTTPRequest.percentDecode(Array("100%".utf8), plusAsSpace: true) == "100%")
        #expect(HTTPRequest.percentDecode(Array("%zz%4".utf8), plusAsSpace: true) == "%zz%4")
        #expect(HTTPRequest.percentDecode(Array("%E2%9C%93".utf8), plusAsSpace: true) == "✓")
    }

    @Test func targetSplitting() {
        #expect(HTTPRequest.splitTarget("/a%2Fb?x=%41") == ("/a/b", "x=%41"))
        #expect(HTTPRequest.splitTarget("/plain") == ("/plain", ""))
        #expect(HTTPRequest.splitTarget("/q?") == ("/q", ""))
        #expect(HTTPRequest.splitTarget("/q?a=1?b") == ("/q", "a=1?b"))
    }

    @Test func queryParsing() {
        let items = HTTPRequest.parseQuery("a=1&&b=x+y%26z&c&=v&d=e=f")
        #expect(items.map(\.name) == ["a", "b", "c", "", "d"])
        #expect(items.map(\.value) == ["1", "x y&z", "", "v", "e=f"])
        #expect(HTTPRequest.parseQuery("").isEmpty)
    }

    @Test func requestIDs() {
        #expect(HTTPRequest.acceptedRequestID("Az09._-") == "Az09._-")
        #expect(HTTPRequest.acceptedRequestID(String(repeating: "a", count: 128)) != nil)
        #expect(HTTPRequest.acceptedRequestID(String(repeating: "a", count: 129)) == nil)
        #expect(HTTPRequest.acceptedRequestID("") == nil)
        #expect(HTTPRequest.acceptedRequestID("a\r\nb") == nil)
        #expect(HTTPRequest.acceptedRequestID("é") == nil)
        let generated = HTTPRequest.generateRequestID()
        #expect(generated.count == 32)
        #expect(HTTPRequest.acceptedRequestID(generated) == generated)
        #expect(generated != HTTPRequest.generateRequestID())
        let request = HTTPRequest(method: "GET", path: "/", headers: HTTPHeaders([("x-request-id", "given")]))
        #expect(request.requestID == "given")
    }

    @Test func errorBodyShape() {
        let response = HTTPResponse.error(status: 400, code: "bad", message: "say \"hi\"\n", field: "type")
        guard case .bytes(let bytes) = response.body else { Issue.record("not bytes"); return }
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"error":{"code":"bad","message":"say \"hi\"\n","field":"type"}}"#)
        #expect(response.headers["content-type"] == "application/json")
    }
}
