import Foundation
import JobGateCore
import Testing
@testable import JobGateWorker

@Suite struct JobTypesConfigTests {
    static func parse(_ json: String) throws(JobTypesConfigError) -> [String: CommandSpec] {
        try JobTypesConfig.parse(data: Data(json.utf8))
    }

    @Test func aFullAndAMinimalDefinitionParse() throws {
        let specs = try Self.parse("""
        {
          "resize": {
            "argv": ["/usr/local/bin/resize", "--fast"],
            "timeoutSeconds": 60,
            "maxAttempts": 5,
            "backoff": {"baseSeconds": 0.5, "maxSeconds": 120},
            "environment": {"QUALITY": "80"},
            "contentType": "image/png",
            "outputCapBytes": 1048576,
            "queue": "images"
          },
          "report.daily_v2": {"argv": ["make-report"]}
        }
        """)
        #expect(specs["resize"] == CommandSpec(
            argv: ["/usr/local/bin/resize", "--fast"],
            settings: JobTypeSettings(timeoutSeconds: 60, maxAttempts: 5, retry: RetryPolicy(baseSeconds: 0.5, capSeconds: 120), queue: "images"),
            environment: ["QUALITY": "80"], contentType: "image/png", outputCapBytes: 1_048_576))
        let minimal = try #require(specs["report.daily_v2"])
        #expect(minimal.argv == ["make-report"])
        #expect(minimal.timeoutSeconds == 300)
        #expect(minimal.timeout == .seconds(300))
        #expect(minimal.settings.maxAttempts == 3)
        #expect(minimal.settings.retry == RetryPolicy(baseSeconds: 1, capSeconds: 300))
        #expect(minimal.environment.isEmpty)
        #expect(minimal.contentType == "application/octet-stream")
        #expect(minimal.outputCapBytes == 16 * 1024 * 1024)
        #expect(minimal.settings.queue == nil)
        #expect(try Self.parse("{}").isEmpty)
    }

    @Test func loadReadsAFileAndNamesItInErrors() throws {
        let path = NSTemporaryDirectory() + "jobgate-types-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(#"{"echo": {"argv": ["cat"], "contentType": "application/json"}}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try JobTypesConfig.load(path: path)["echo"]?.contentType == "application/json")

        try Data(#"{"echo": {"argv": []}}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try JobTypesConfig.load(path: path)
        } throws: { error in
            "\(error)" == #"job types file \#(path): job type "echo": "argv" must be a non-empty array of strings"#
        }
        #expect {
            _ = try JobTypesConfig.load(path: path + ".missing")
        } throws: { error in
            "\(error)".contains(path + ".missing")
        }
    }

    static let invalid: [(json: String, message: String)] = [
        (#"{"resize": {}}"#, #"job type "resize": "argv" must be a non-empty array of strings"#),
        (#"{"resize": {"argv": []}}"#, #"job type "resize": "argv" must be a non-empty array of strings"#),
        (#"{"resize": {"argv": "convert"}}"#, #"job type "resize": "argv" must be a non-empty array of strings"#),
        (#"{"resize": {"argv": ["convert", 3]}}"#, #"job type "resize": "argv" must be a non-empty array of strings"#),
        (#"{"resize": {"argv": [""]}}"#, #"job type "resize": "argv" must be a non-empty array of strings"#),
        (#"{"Resize": {"argv": ["x"]}}"#, #"job type "Resize": invalid name"#),
        (#"{"-resize": {"argv": ["x"]}}"#, #"job type "-resize": invalid name"#),
        (#"{"re size": {"argv": ["x"]}}"#, #"job type "re size": invalid name"#),
        (#"{"\#(String(repeating: "a", count: 65))": {"argv": ["x"]}}"#, "invalid name"),
        (#"{"noop": {"argv": ["x"]}}"#, #"job type "noop": shadows the built-in type"#),
        (#"{"weather": {"argv": ["x"]}}"#, #"job type "weather": shadows the built-in type"#),
        (#"{"resize": ["x"]}"#, #"job type "resize": the definition must be an object"#),
        (#"{"resize": {"argv": ["x"], "timeout": 5}}"#, #"job type "resize": unknown field "timeout""#),
        (#"{"resize": {"argv": ["x"], "timeoutSeconds": 0}}"#, #"job type "resize": "timeoutSeconds" must be a positive integer"#),
        (#"{"resize": {"argv": ["x"], "timeoutSeconds": 2.5}}"#, #"job type "resize": "timeoutSeconds" must be a positive integer"#),
        (#"{"resize": {"argv": ["x"], "timeoutSeconds": "60"}}"#, #"job type "resize": "timeoutSeconds" must be a positive integer"#),
        (#"{"resize": {"argv": ["x"], "timeoutSeconds": true}}"#, #"job type "resize": "timeoutSeconds" must be a positive integer"#),
        (#"{"resize": {"argv": ["x"], "maxAttempts": -1}}"#, #"job type "resize": "maxAttempts" must be a positive integer"#),
        (#"{"resize": {"argv": ["x"], "backoff": 5}}"#, #"job type "resize": "backoff" must be an object"#),
        (#"{"resize": {"argv": ["x"], "backoff": {"baseSeconds": 0}}}"#, #"job type "resize": "backoff.baseSeconds" must be a positive number"#),
        (#"{"resize": {"argv": ["x"], "backoff": {"maxSeconds": -3}}}"#, #"job type "resize": "backoff.maxSeconds" must be a positive number"#),
        (#"{"resize": {"argv": ["x"], "backoff": {"baseSeconds": 10, "maxSeconds": 5}}}"#, #"job type "resize": "backoff.maxSeconds" must not be less than"#),
        (#"{"resize": {"argv": ["x"], "backoff": {"base": 1}}}"#, #"job type "resize": unknown field "backoff.base""#),
        (#"{"resize": {"argv": ["x"], "environment": ["A=1"]}}"#, #"job type "resize": "environment" must be an object"#),
        (#"{"resize": {"argv": ["x"], "environment": {"A": 1}}}"#, #"job type "resize": "environment.A" must be a string"#),
        (#"{"resize": {"argv": ["x"], "environment": {"A=B": "1"}}}"#, #"job type "resize": "environment" has an invalid variable name "A=B""#),
        (#"{"resize": {"argv": ["x"], "contentType": ""}}"#, #"job type "resize": "contentType" must be a non-empty string"#),
        (#"{"resize": {"argv": ["x"], "outputCapBytes": 0}}"#, #"job type "resize": "outputCapBytes" must be a positive integer"#),
        (#"{"resize": {"argv": ["x"], "outputCapBytes": 2147483648}}"#, #"job type "resize": "outputCapBytes" must be a positive integer of at most"#),
        (#"{"resize": {"argv": ["x"], "queue": "Images!"}}"#, #"job type "resize": "queue" must be a queue name"#),
        (#"{"resize": {"argv": ["x"], "queue": 7}}"#, #"job type "resize": "queue" must be a queue name"#),
        (#"[{"argv": ["x"]}]"#, "the top level must be an object"),
        (#"{"resize": {"argv": ["x"]}"#, "not valid JSON"),
    ]

    @Test(arguments: invalid)
    func invalidDefinitionsAreRefusedNamingTypeAndField(json: String, message: String) {
        #expect {
            _ = try Self.parse(json)
        } throws: { error in
            let text = "\(error)"
            let matches = text.hasPrefix(message) || (!message.hasPrefix("job type") && text.contains(message))
            if !matches { Issue.record("got: \(text)") }
            return matches
        }
    }

    @Test func theFirstErrorIsStableAcrossTypes() {
        #expect {
            _ = try Self.parse(#"{"zeta": {}, "alpha": {"argv": []}}"#)
        } throws: { error in
            "\(error)".hasPrefix(#"job type "alpha""#)
        }
    }
}
