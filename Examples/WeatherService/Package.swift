// swift-tools-version:6.2
// An example host service: it depends on JobGate by path (as your package would by URL),
// runs an embedded worker with one Swift handler and submits a job through the typed
// client. CI builds and runs it (scripts/test-examples).
import PackageDescription

let package = Package(
    name: "WeatherService",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Elsewhere: .package(url: "https://…/jobgate.git", branch: "main")
        .package(name: "JobGate", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "WeatherService", dependencies: [
            .product(name: "JobGateClient", package: "JobGate"),
            .product(name: "JobGateWorker", package: "JobGate"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
