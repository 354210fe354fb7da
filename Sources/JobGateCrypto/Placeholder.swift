// Module JobGateCrypto.
