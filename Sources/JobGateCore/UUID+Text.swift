import Foundation
import JobGatePostgres

extension UUID {
    /// The canonical lowercase text form (`01a2…-…`), built without Foundation's
    /// formatting and a second lowercasing pass: ids are written into every API response.
    public var lowercasedString: String { UUIDText.lowercased(self) }
}
