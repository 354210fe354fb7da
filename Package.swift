// swift-tools-version:6.2
// JobGate: a PostgreSQL-backed durable job platform. No Swift package
// dependencies: C libraries come from the system through tiny system-library
// targets, everything else is the toolchain's own modules.
import PackageDescription

let package = Package(
    name: "JobGate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "jobgate", targets: ["jobgate"]),
        .library(name: "JobGatePostgres", targets: ["JobGatePostgres"]),
    ],
    targets: [
        // C libraries from the system.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Small C helpers for what Swift cannot call directly (variadics, macros).
        .target(name: "CShims", dependencies: ["CMicroHTTPD"]),

        // A PostgreSQL client over libpq, usable on its own.
        .target(name: "JobGatePostgres", dependencies: ["CLibPQ"]),
        // Hashing, HMAC, randomness and JWT signature checks over libcrypto.
        .target(name: "JobGateCrypto", dependencies: ["CCrypto"]),
        // A small HTTP/1.1 server over libmicrohttpd.
        .target(name: "JobGateHTTP", dependencies: ["CMicroHTTPD", "CShims"]),
        // The job model, the job store (all job SQL), migrations, configuration.
        .target(
            name: "JobGateCore",
            dependencies: ["JobGatePostgres", "JobGateCrypto"],
            resources: [.embedInCode("Migrations"), .embedInCode("Reports")]
        ),
        // The worker pool: claimer, executor, completer, heartbeater, rescuer, pruner.
        .target(name: "JobGateWorker", dependencies: ["JobGateCore", "CCrypto"]),
        // The operator's /dashboard page (data, HTML with inline SVG) and its session cookie.
        .target(name: "JobGateDashboard", dependencies: ["JobGateCore", "JobGatePostgres", "JobGateCrypto"]),
        // The HTTP API: routes, auth, signed URLs, group-committed submits.
        .target(name: "JobGateAPI", dependencies: ["JobGateCore", "JobGateHTTP", "JobGateCrypto", "JobGatePostgres", "JobGateDashboard"]),
        // The command line: subcommands, configuration, embedded PostgreSQL.
        .target(name: "JobGateApp", dependencies: ["JobGateCore", "JobGateWorker", "JobGateAPI", "JobGateHTTP"]),
        .executableTarget(name: "jobgate", dependencies: ["JobGateApp"]),

        // Helpers shared by the test targets: a fresh database per test on the throwaway server.
        .target(name: "JobGateTestSupport", dependencies: ["JobGatePostgres", "JobGateCore"], path: "Tests/JobGateTestSupport"),
        .testTarget(name: "JobGatePostgresTests", dependencies: ["JobGatePostgres", "JobGateTestSupport"]),
        .testTarget(name: "JobGateCryptoTests", dependencies: ["JobGateCrypto", "JobGateCore"]),
        .testTarget(name: "JobGateHTTPTests", dependencies: ["JobGateHTTP"]),
        .testTarget(name: "JobGateCoreTests", dependencies: ["JobGateCore", "JobGateWorker", "JobGateApp", "JobGatePostgres", "JobGateTestSupport"]),
        .testTarget(name: "JobGateWorkerTests", dependencies: ["JobGateWorker"]),
        .testTarget(name: "JobGateAPITests", dependencies: [
            "JobGateAPI", "JobGateCore", "JobGateWorker", "JobGateHTTP", "JobGateCrypto", "JobGatePostgres", "JobGateApp", "JobGateTestSupport",
        ]),
        .testTarget(name: "JobGateDashboardTests", dependencies: ["JobGateDashboard", "JobGateCore", "JobGatePostgres", "JobGateTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
