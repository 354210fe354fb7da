import Foundation
import JobGateAPI
@testable import JobGateApp
import JobGateAuth
import JobGateHTTP
import JobGateTestSupport
import JobGateWorker
import Testing

/// `--cors-origins`, `--jwt-default-scopes` and `--reference-format` (DESIGN.md §16): flag over
/// `JOBGATE_*` over default, and a bad value is a usage error before anything starts.
@Suite struct ReferenceSettingsTests {
    func configuration(_ args: [String], env: [String: String] = [:]) throws -> APIConfiguration {
        try APISettings.configuration(try Arguments(args, options: APISettings.options, environment: env))
    }

    @Test func defaultsChangeNothing() throws {
        let c = try configuration([])
        #expect(c.referenceFormat == .cdk)
        #expect(c.cors == nil)
        #expect(c.jwt == nil)
    }

    @Test func flagsAndVariables() throws {
        let c = try configuration(["--reference-format", "sam", "--cors-origins", "https://App.example.com,http://localhost:3000",
                                   "--jwks", "/tmp/keys.json", "--jwt-default-scopes", "jobs:submit,jobs:read"])
        #expect(c.referenceFormat == .sam)
        #expect(c.cors?.origins == .list(["https://app.example.com", "http://localhost:3000"]))
        #expect(c.jwt?.defaultScopes == [.submit, .read])
        let env = ["JOBGATE_REFERENCE_FORMAT": "sam", "JOBGATE_CORS_ORIGINS": "*", "JOBGATE_JWKS": "/tmp/keys.json",
                   "JOBGATE_JWT_DEFAULT_SCOPES": "jobs:read"]
        let fromEnv = try configuration([], env: env)
        #expect(fromEnv.referenceFormat == .sam && fromEnv.cors?.origins == .any && fromEnv.jwt?.defaultScopes == [.read])
        let flagWins = try configuration(["--reference-format", "cdk", "--cors-origins", "http://[::1]:8080"], env: env)
        #expect(flagWins.referenceFormat == .cdk && flagWins.cors?.origins == .list(["http://[::1]:8080"]))
    }

    @Test(arguments: [
        ["--reference-format", "xml"], ["--reference-format", "SAM "],
        ["--cors-origins", ""], ["--cors-origins", "app.example.com"], ["--cors-origins", "https://app.example.com/"],
        ["--cors-origins", "*,https://app.example.com"], ["--cors-origins", "null"], ["--cors-origins", "https://a.example:99999"],
        ["--jwt-default-scopes", "jobs:read"],  // without --jwks
        ["--jwks", "/tmp/k.json", "--jwt-default-scopes", "jobs:reed"],
        ["--jwks", "/tmp/k.json", "--jwt-default-scopes", ","],
        ["--jwks", "/tmp/k.json", "--jwt-default-scopes", "jobs:read,operator"],
    ])
    func badValuesAreUsageErrors(_ args: [String]) {
        #expect(throws: UsageError.self, "\(args)") { try configuration(args) }
    }

    /// Through the binary: exit 2 with the reason, before any database is reached.
    @Test func theServerDoesNotStartOnABadValue() async throws {
        let p = try TestProcess([try JobGateBinary.path(), "serve", "--listen", "127.0.0.1:0", "--cors-origins", "ftp://files.example"],
                                environment: ["JOBGATE_DATABASE_URL": "postgresql://127.0.0.1:1/none", "JOBGATE_LOG_LEVEL": "error"])
        #expect(await p.wait(timeout: .seconds(30)) == 2, "\(p.output)")
        #expect(p.output.contains("--cors-origins") && p.output.contains("http:// or https://"), "\(p.output)")
        #expect(!p.output.contains("listening"), "\(p.output)")
    }
}
