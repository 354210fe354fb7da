import Foundation
import JobGateApp

exit(await JobGateCLI.main(CommandLine.arguments))
