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
        // For other Swift packages (docs/swift.md): the typed client of the HTTP API, and the
        // worker pool to embed in a service (with Core, whose job-type settings it takes).
        .library(name: "JobGateClient", targets: ["JobGateClient"]),
        .library(name: "JobGateWorker", targets: ["JobGateWorker", "JobGateCore"]),
    ],
    targets: [
        // C libraries from the system.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Small C helpers for what Swift cannot call directly (variadics, macros).
        .target(name: "CShims", dependencies: ["CMicroHTTPD"]),

        // What every module needs and nothing else provides: the logger, the one thread hop
        // (cancellable), posix_spawn, the JSON value and escaper, UUID text, Duration in seconds.
        .target(name: "JobGateSystem"),
        // The Prometheus registry, metric families and text exposition.
        .target(name: "JobGatePrometheus", dependencies: ["JobGateSystem"]),
        // A PostgreSQL client over libpq, usable on its own.
        .target(name: "JobGatePostgres", dependencies: ["CLibPQ", "JobGateSystem"]),
        // Hashing (the one SHA-256), HMAC, randomness and JWT signature checks over libcrypto.
        .target(name: "JobGateCrypto", dependencies: ["CCrypto", "JobGateSystem"]),
        // A small HTTP/1.1 server over libmicrohttpd, its house error, and a blocking HTTP client.
        .target(name: "JobGateHTTP", dependencies: ["CMicroHTTPD", "CShims", "JobGateSystem"]),
        // A typed async client of the HTTP API for other Swift code; knows nothing of the database.
        .target(name: "JobGateClient", dependencies: ["JobGateHTTP", "JobGateSystem"]),
        // The job model, one job-type definition, the job store (all job SQL), migrations, reports.
        .target(
            name: "JobGateCore",
            dependencies: ["JobGateSystem", "JobGatePrometheus", "JobGatePostgres", "JobGateCrypto"],
            resources: [.embedInCode("Migrations"), .embedInCode("Reports")]
        ),
        // The worker pool: claimer, executor, completer, heartbeater, rescuer, pruner, handlers.
        .target(name: "JobGateWorker", dependencies: ["JobGateCore", "JobGateCrypto", "JobGateSystem", "JobGatePrometheus"]),
        // Who is calling: scopes, principals, API tokens, JWT settings; used by the API and the dashboard.
        .target(name: "JobGateAuth", dependencies: ["JobGateCore", "JobGateCrypto", "JobGateHTTP", "JobGatePostgres", "JobGateSystem"]),
        // The HTTP API: routes, signed URLs, group-committed submits.
        .target(name: "JobGateAPI", dependencies: [
            "JobGateCore", "JobGateAuth", "JobGateHTTP", "JobGateCrypto", "JobGatePostgres", "JobGatePrometheus", "JobGateSystem",
        ]),
        // The operator's /dashboard (data, HTML with inline SVG, session cookie), mounted beside the API.
        .target(name: "JobGateDashboard", dependencies: [
            "JobGateCore", "JobGateAuth", "JobGateHTTP", "JobGatePostgres", "JobGateCrypto", "JobGateSystem",
        ]),
        // Load generators and benchmark fixtures: `jobgate bench`, the drain benchmark, pgbench scripts.
        .target(name: "JobGateBench", dependencies: ["JobGateCore", "JobGateWorker", "JobGateHTTP", "JobGatePostgres", "JobGateSystem"]),
        // The command line: one command per file, configuration, embedded PostgreSQL.
        .target(name: "JobGateApp", dependencies: [
            "JobGateCore", "JobGateWorker", "JobGateAuth", "JobGateAPI", "JobGateDashboard", "JobGateBench", "JobGateHTTP",
            "JobGatePrometheus", "JobGatePostgres", "JobGateSystem",
        ]),
        .executableTarget(name: "jobgate", dependencies: ["JobGateApp"]),

        // Helpers shared by the test targets: a fresh database per test on the throwaway server,
        // the fault proxy, child processes.
        .target(name: "JobGateTestSupport", dependencies: ["JobGatePostgres", "JobGateCore", "JobGateSystem"], path: "Tests/JobGateTestSupport"),
        .testTarget(name: "JobGateSystemTests", dependencies: ["JobGateSystem"]),
        .testTarget(name: "JobGatePrometheusTests", dependencies: ["JobGatePrometheus", "JobGateSystem"]),
        .testTarget(name: "JobGatePostgresTests", dependencies: ["JobGatePostgres", "JobGateSystem", "JobGateTestSupport"]),
        .testTarget(name: "JobGateCryptoTests", dependencies: ["JobGateCrypto", "JobGateCore", "JobGateSystem"]),
        .testTarget(name: "JobGateHTTPTests", dependencies: ["JobGateHTTP", "JobGateSystem", "JobGateTestSupport"]),
        .testTarget(name: "JobGateCoreTests", dependencies: [
            "JobGateCore", "JobGateWorker", "JobGateApp", "JobGateCrypto", "JobGatePostgres", "JobGatePrometheus", "JobGateSystem",
            "JobGateTestSupport",
        ]),
        .testTarget(name: "JobGateWorkerTests", dependencies: ["JobGateWorker", "JobGateCore", "JobGateSystem"]),
        .testTarget(name: "JobGateBenchTests", dependencies: ["JobGateBench", "JobGateCore", "JobGatePostgres", "JobGateSystem", "JobGateTestSupport"]),
        .testTarget(name: "JobGateAppTests", dependencies: [
            "JobGateApp", "JobGateAPI", "JobGateAuth", "JobGateCore", "JobGateHTTP", "JobGatePostgres", "JobGateSystem", "JobGateTestSupport", "JobGateWorker",
        ]),
        .testTarget(name: "JobGateAPITests", dependencies: [
            "JobGateAPI", "JobGateAuth", "JobGateClient", "JobGateDashboard", "JobGateCore", "JobGateWorker", "JobGateHTTP", "JobGateCrypto",
            "JobGatePostgres", "JobGatePrometheus", "JobGateSystem", "JobGateApp", "JobGateTestSupport",
        ]),
        .testTarget(name: "JobGateDashboardTests", dependencies: [
            "JobGateDashboard", "JobGateAuth", "JobGateCore", "JobGatePostgres", "JobGateSystem", "JobGateTestSupport",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
